import type Router from '@koa/router';
import { ExtensionPoint, type ContainerService } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { outputWriter } from '../http/attach-streams.js';
import { queryBool } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { MULTIPLEXED_STREAM, RAW_STREAM, StdStream } from '../http/stdcopy.js';
import { startStream } from '../http/streaming.js';

/**
 * `POST /containers/{id}/attach` from a client that did not ask to upgrade
 * (docker-py's non-streaming attach, `logs=1&stream=0`): moby answers
 * `200 OK` and the output as an ordinary streamed body; there is no stdin.
 */
export function containerAttachPlainRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'post', '/containers/:id/attach', 'containers.attach', async (ctx, api) => {
    const q = ctx.query;
    let stream: ReturnType<typeof startStream> | undefined;
    let connected!: () => void;
    const streaming = new Promise<void>((r) => { connected = r; });
    const run = svc().attach(ctx.params.id!, {
      stdin: false, stdout: queryBool(q.stdout), stderr: queryBool(q.stderr), logs: queryBool(q.logs), stream: queryBool(q.stream), detachKeys: undefined,
    }, ({ tty }) => {
      stream = startStream(ctx, api.headers({ 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM })['Content-Type']!);
      connected();
      return { stdout: outputWriter(stream.out, tty ? undefined : StdStream.Stdout), stderr: tty ? undefined : outputWriter(stream.out, StdStream.Stderr), signal: stream.signal };
    });
    await Promise.race([streaming, run]);
    void run.then(() => stream?.out.end(), () => stream?.out.end());
  });
}
