import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, type ContainerService, type ExecCreateConfig } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { outputWriter } from '../http/attach-streams.js';
import { readJson } from '../http/body.js';
import { defineRoute } from '../http/route.js';
import { MULTIPLEXED_STREAM, RAW_STREAM, StdStream } from '../http/stdcopy.js';
import { startStream } from '../http/streaming.js';
import { consoleSize } from './container-lifecycle.js';
import type { ExecStartBody } from './hijacked.js';

/**
 * `docker exec`: create, inspect, resize, and start without a hijack —
 * `{"Detach":true}` (the CLI's `exec -d`) answers 200 with an empty body;
 * an attached start from a client that did not ask to upgrade gets the
 * output as an ordinary streamed response, without stdin.
 */
export function execRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'post', '/containers/:id/exec', 'exec.create', async (ctx, api) => {
    const body = api.liftBody(await readJson<ExecCreateConfig>(ctx));
    if (!body || typeof body !== 'object' || !Array.isArray(body.Cmd) || body.Cmd.length === 0) throw new InvalidParameterError('No exec command specified');
    const id = await svc().createExec(ctx.params.id!, body);
    ctx.status = 201;
    ctx.body = { Id: id };
  });

  defineRoute(router, deps, 'get', '/exec/:id/json', 'exec.inspect', async (ctx) => {
    ctx.body = await svc().inspectExec(ctx.params.id!);
  });

  defineRoute(router, deps, 'post', '/exec/:id/resize', 'exec.resize', async (ctx) => {
    await svc().resizeExec(ctx.params.id!, consoleSize(ctx.query));
    ctx.status = 200;
    ctx.body = '';
  });

  defineRoute(router, deps, 'post', '/exec/:id/start', 'exec.start', async (ctx, api) => {
    const body = (await readJson<ExecStartBody>(ctx)) ?? {};
    if (body.Detach) {
      await svc().startExec(ctx.params.id!, { detach: true }, () => ({}));
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    let stream: ReturnType<typeof startStream> | undefined;
    let connected!: () => void;
    const streaming = new Promise<void>((r) => { connected = r; });
    const run = svc().startExec(ctx.params.id!, { detach: false, tty: body.Tty, consoleSize: body.ConsoleSize }, ({ tty }) => {
      stream = startStream(ctx, api.headers({ 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM })['Content-Type']!);
      connected();
      return { stdout: outputWriter(stream.out, tty ? undefined : StdStream.Stdout), stderr: tty ? undefined : outputWriter(stream.out, StdStream.Stderr), signal: stream.signal };
    });
    // Errors before the stream starts are ordinary HTTP errors; afterwards the output streams until the exit.
    await Promise.race([streaming, run]);
    void run.then(() => stream?.out.end(), () => stream?.out.end());
  });
}
