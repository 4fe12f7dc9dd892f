import type Router from '@koa/router';
import {
  ExtensionPoint,
  InvalidParameterError,
  type ContainerService,
  type EndpointRequest,
  type NetworkCreateRequest,
  type NetworkFilterArgs,
  type NetworkService,
} from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { Filters } from '../http/filters.js';
import { queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];
const PRUNE_FILTERS = ['until', 'label', 'label!'];

/**
 * The network endpoints (dockerd's daemon/server/router/network): list,
 * inspect, create, connect, disconnect, remove, prune. Containers are
 * resolved through the container service (404 `No such container: x`),
 * networks by the network service (404 `network x not found`).
 */
export function networkRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<NetworkService>(ExtensionPoint.NetworkService);
  const containers = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'get', '/networks', 'networks.list', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(LIST_FILTERS);
    ctx.body = await svc().list(filterArgs(filters, LIST_FILTERS));
  });

  defineRoute(router, deps, 'post', '/networks/create', 'networks.create', async (ctx, api) => {
    const body = api.liftBody(await readJson<NetworkCreateRequest>(ctx));
    if (!body || typeof body !== 'object') throw new InvalidParameterError('invalid network config: empty body');
    ctx.status = 201;
    ctx.body = await svc().create(body);
  });

  defineRoute(router, deps, 'post', '/networks/prune', 'networks.prune', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(PRUNE_FILTERS);
    ctx.body = await svc().prune(filterArgs(filters, PRUNE_FILTERS));
  });

  defineRoute(router, deps, 'get', '/networks/:id', 'networks.inspect', async (ctx) => {
    ctx.body = await svc().inspect(ctx.params.id!);
  });

  defineRoute(router, deps, 'post', '/networks/:id/connect', 'networks.connect', async (ctx, api) => {
    const body = api.liftBody(await readJson<{ Container?: string; EndpointConfig?: EndpointRequest | null }>(ctx)) ?? {};
    if (!body.Container) throw new InvalidParameterError('no container specified');
    const c = await containers().get(body.Container);
    await svc().connect(ctx.params.id!, c, body.EndpointConfig ?? {});
    ctx.status = 200;
  });

  defineRoute(router, deps, 'post', '/networks/:id/disconnect', 'networks.disconnect', async (ctx, api) => {
    const body = api.liftBody(await readJson<{ Container?: string; Force?: boolean }>(ctx)) ?? {};
    if (!body.Container) throw new InvalidParameterError('no container specified');
    const c = await containers().get(body.Container);
    await svc().disconnect(ctx.params.id!, c, body.Force === true);
    ctx.status = 200;
  });

  defineRoute(router, deps, 'delete', '/networks/:id', 'networks.remove', async (ctx) => {
    await svc().remove(ctx.params.id!);
    ctx.status = 204;
  });
}

function filterArgs(filters: Filters, keys: readonly string[]): NetworkFilterArgs {
  return Object.fromEntries(keys.filter((k) => filters.has(k)).map((k) => [k, filters.get(k)]));
}
