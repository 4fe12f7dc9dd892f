import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, type ContainerService, type PathStat } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { queryBool, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';

/**
 * `docker cp` (pitfall 13): HEAD and GET answer the path's stat in
 * `X-Docker-Container-Path-Stat` (standard base64 of JSON, a Go FileMode);
 * GET streams a tar; PUT takes a tar in any Content-Type (the CLI sends
 * text/plain, dockerode application/tar) and extracts it into a directory.
 */
export function containerArchiveRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);
  const pathOf = (q: Record<string, string | string[] | undefined>) => {
    const p = queryString(q.path);
    if (!p) throw new InvalidParameterError('path is required');
    return p;
  };
  const statHeader = (s: PathStat) => Buffer.from(JSON.stringify(s)).toString('base64');

  defineRoute(router, deps, 'head', '/containers/:id/archive', 'containers.archive.stat', async (ctx) => {
    const s = await svc().statPath(ctx.params.id!, pathOf(ctx.query));
    ctx.set('X-Docker-Container-Path-Stat', statHeader(s));
    ctx.status = 200;
  });

  defineRoute(router, deps, 'get', '/containers/:id/archive', 'containers.archive.get', async (ctx) => {
    const { stat, tar } = await svc().archivePath(ctx.params.id!, pathOf(ctx.query));
    ctx.set('X-Docker-Container-Path-Stat', statHeader(stat));
    ctx.set('Content-Type', 'application/x-tar');
    ctx.status = 200;
    ctx.body = tar;
    ctx.req.once('close', () => tar.destroy());
  });

  defineRoute(router, deps, 'put', '/containers/:id/archive', 'containers.archive.put', async (ctx) => {
    ctx.req.socket.setTimeout(0);
    await svc().extractToDir(ctx.params.id!, pathOf(ctx.query), ctx.req, {
      noOverwriteDirNonDir: queryBool(ctx.query.noOverwriteDirNonDir),
      copyUIDGID: queryBool(ctx.query.copyUIDGID),
    });
    ctx.status = 200;
    ctx.body = '';
  });
}
