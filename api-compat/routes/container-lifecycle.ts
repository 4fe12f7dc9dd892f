import type Router from '@koa/router';
import { ConflictError, ExtensionPoint, InvalidParameterError, type ContainerService, type WaitCondition } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { queryInt, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { startStream } from '../http/streaming.js';

/** Starting, stopping, signalling, pausing, resizing and waiting for containers. */
export function containerLifecycleRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'post', '/containers/:id/start', 'containers.start', async (ctx) => {
    // A HostConfig in the body was removed in API 1.24; checkpoints are not supported: both ignored.
    await svc().startContainer(ctx.params.id!);
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/stop', 'containers.stop', async (ctx) => {
    await svc().stopContainer(ctx.params.id!, stopOptions(ctx.query));
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/restart', 'containers.restart', async (ctx) => {
    await svc().restart(ctx.params.id!, stopOptions(ctx.query));
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/kill', 'containers.kill', async (ctx) => {
    const name = ctx.params.id!;
    try {
      await svc().kill(name, queryString(ctx.query.signal) || undefined);
    } catch (err) {
      // dockerd's router prefixes the reason a running container could not be signalled.
      if (err instanceof ConflictError) throw new ConflictError(`Cannot kill container: ${name}: ${err.message}`, { cause: err });
      throw err;
    }
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/pause', 'containers.pause', async (ctx) => {
    await svc().pause(ctx.params.id!);
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/unpause', 'containers.unpause', async (ctx) => {
    await svc().unpause(ctx.params.id!);
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/:id/resize', 'containers.resize', async (ctx) => {
    await svc().resize(ctx.params.id!, consoleSize(ctx.query));
    ctx.status = 200;
    ctx.body = '';
  });

  defineRoute(router, deps, 'post', '/containers/:id/wait', 'containers.wait', async (ctx, api) => {
    const condition = (queryString(ctx.query.condition) || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameterError(`invalid condition: "${condition}"`);
    const wait = await svc().wait(ctx.params.id!, condition);
    // Registered before the headers go out: the CLI sends start only after it sees them (pitfall 5).
    const { out, signal } = startStream(ctx, 'application/json');
    signal.addEventListener('abort', () => wait.cancel(), { once: true });
    const result = await Promise.race([wait.result, new Promise<undefined>((r) => signal.addEventListener('abort', () => r(undefined), { once: true }))]);
    if (result) out.end(JSON.stringify(api.adapt(result)) + '\n');
  });
}

function stopOptions(q: Record<string, string | string[] | undefined>): { timeout?: number; signal?: string } {
  const t = queryString(q.t);
  if (t !== undefined && t !== '' && !/^-?\d+$/.test(t)) throw new InvalidParameterError(`strconv.Atoi: parsing "${t}": invalid syntax`);
  return { timeout: t ? Number(t) : undefined, signal: queryString(q.signal) || undefined };
}

/** `h` and `w` of a resize, as dockerd parses them (400 on garbage). */
export function consoleSize(q: Record<string, string | string[] | undefined>): { height: number; width: number } {
  const height = queryInt('h', q.h);
  const width = queryInt('w', q.w);
  if (height < 0 || width < 0) throw new InvalidParameterError('invalid terminal size');
  return { height, width };
}
