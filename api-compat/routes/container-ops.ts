import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, type ContainerService, type UpdateConfig } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';

/** `docker top`, `docker update`, `docker export`. */
export function containerOpsRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'get', '/containers/:id/top', 'containers.top', async (ctx) => {
    ctx.body = await svc().top(ctx.params.id!, queryString(ctx.query.ps_args) || '-ef');
  });

  defineRoute(router, deps, 'post', '/containers/:id/update', 'containers.update', async (ctx, api) => {
    const body = api.liftBody(await readJson<UpdateConfig>(ctx));
    if (body !== undefined && (typeof body !== 'object' || body === null)) throw new InvalidParameterError('invalid update body');
    ctx.body = await svc().update(ctx.params.id!, body ?? {});
  });

  defineRoute(router, deps, 'get', '/containers/:id/export', 'containers.export', async (ctx) => {
    const tar = await svc().exportRootfs(ctx.params.id!);
    ctx.status = 200;
    ctx.set('Content-Type', 'application/octet-stream');
    ctx.body = tar;
    ctx.req.once('close', () => tar.destroy());
  });
}
