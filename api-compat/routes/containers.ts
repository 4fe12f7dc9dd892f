import type Router from '@koa/router';
import {
  ExtensionPoint,
  InvalidParameterError,
  NotFoundError,
  NotImplementedError,
  type ContainerConfig,
  type ContainerRecord,
  type ContainerService,
  type GraphDriver,
  type HostConfig,
  type ImageStore,
  type NetworkService,
} from '../../kernel/index.js';
import { inspectView, summaryView } from '../../plugins/container-service/container-view.js';
import { PS_FILTERS, selectContainers } from '../../plugins/container-service/list-filter.js';
import { summaryListBody } from '../../plugins/container-service/summary-json.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { Filters } from '../http/filters.js';
import { queryBool, queryInt, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { parseTimestamp } from '../http/timestamps.js';

interface CreateBody extends ContainerConfig {
  HostConfig?: HostConfig | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
}

/** Container routes: create, list, inspect, rename, remove, prune, changes (lifecycle, logs and exec have their own files). */
export function containerRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'post', '/containers/create', 'containers.create', async (ctx, api) => {
    const body = api.liftBody(await readJson<CreateBody>(ctx));
    if (!body || typeof body !== 'object') throw new InvalidParameterError('Config cannot be empty in order to create a container');
    if (!body.Image) throw new InvalidParameterError('Config cannot be empty in order to create a container');
    const { HostConfig: hostConfig, NetworkingConfig: networkingConfig, ...config } = body;
    const res = await svc().create({
      name: queryString(ctx.query.name) || undefined,
      config: config as ContainerConfig & { Image: string },
      hostConfig: hostConfig ?? {},
      networkingConfig,
      platform: queryString(ctx.query.platform),
    });
    ctx.status = 201;
    ctx.body = { Id: res.id, Warnings: res.warnings };
  });

  defineRoute(router, deps, 'get', '/containers/json', 'containers.list', async (ctx, api) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(PS_FILTERS);
    const service = svc();
    const all = await service.list();
    const images = deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
    // `ancestor` names an image; containers match by the name they were created with or the image's ID.
    const ancestors = filters.get('ancestor');
    const ancestorIds = new Set(ancestors.length ? await Promise.all(ancestors.map((a) => images?.get(a).then((i) => i.id, () => undefined))) : []);
    const selected = selectContainers(all, {
      all: queryBool(ctx.query.all),
      limit: queryInt('limit', ctx.query.limit),
      filters,
      resolve: (ref) => all.find((c) => c.Id === ref) ?? all.find((c) => c.Name === `/${ref}` || c.Id.startsWith(ref)) ?? raiseNoSuch(ref),
      imageMatches: (c, ancestor) => c.ImageName === ancestor || ancestorIds.has(c.Image),
      networks: (c) => deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.containerNetworks(c.Id) ?? [],
    });
    const withSize = queryBool(ctx.query.size);
    const networks = deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService);
    const sizes = withSize ? await Promise.all(selected.map((c) => service.sizes(c.Id))) : undefined;
    if (api.lowersResponse) {
      ctx.body = selected.map((c, i) => summaryView(c, sizes?.[i], networks?.settings(c)));
      return;
    }
    // No adapter changes this route's answer: the JSON bytes are built from per-record fragments (summary-json.ts).
    ctx.body = summaryListBody(selected.map((c, i) => ({ c, sizes: sizes?.[i], network: networks?.settings(c) })));
    ctx.set('Content-Type', 'application/json');
  });

  defineRoute(router, deps, 'get', '/containers/:id/json', 'containers.inspect', async (ctx) => {
    const service = svc();
    const c = await service.get(ctx.params.id!);
    const graph = deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
    ctx.body = inspectView(c, {
      execIds: service.execIds(c.Id),
      graphDriverData: graph ? await graph.metadata(c.Id).catch(() => undefined) : undefined,
      sizes: queryBool(ctx.query.size) ? await service.sizes(c.Id) : undefined,
      network: deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.settings(c),
    });
  });

  defineRoute(router, deps, 'post', '/containers/:id/rename', 'containers.rename', async (ctx) => {
    const name = queryString(ctx.query.name);
    if (!name) throw new InvalidParameterError('Neither old nor new names may be empty');
    await svc().rename(ctx.params.id!, name);
    ctx.status = 204;
  });

  defineRoute(router, deps, 'delete', '/containers/:id', 'containers.remove', async (ctx) => {
    if (queryBool(ctx.query.link)) throw new NotImplementedError('legacy links are not supported by berthd');
    await svc().remove(ctx.params.id!, { force: queryBool(ctx.query.force), removeVolumes: queryBool(ctx.query.v) });
    ctx.status = 204;
  });

  defineRoute(router, deps, 'post', '/containers/prune', 'containers.prune', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(['until', 'label', 'label!']);
    const until = filters.get('until')[0];
    const untilMs = until ? Number(parseTimestamp(until) / 1_000_000n) : undefined;
    const res = await svc().prune((c) =>
      filters.matchesLabels(c.Config.Labels ?? undefined) &&
      !filters.get('label!').some((l) => labelHolds(c, l)) &&
      (untilMs === undefined || Date.parse(c.Created) < untilMs));
    ctx.body = { ContainersDeleted: res.deleted.length ? res.deleted : null, SpaceReclaimed: res.reclaimed };
  });

  defineRoute(router, deps, 'get', '/containers/:id/changes', 'containers.changes', async (ctx) => {
    const c = await svc().get(ctx.params.id!);
    const changes = await deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver).changes(c.Id, c.InitLayer ?? `${c.Id}-init`);
    // dockerd answers `null`, not `[]`, when nothing changed (observed).
    if (changes.length) ctx.body = changes;
    else { ctx.body = 'null\n'; ctx.set('Content-Type', 'application/json'); }
  });
}

function raiseNoSuch(ref: string): never {
  throw new NotFoundError(`No such container: ${ref}`);
}

function labelHolds(c: ContainerRecord, l: string): boolean {
  const [k, v] = l.split('=', 2) as [string, string | undefined];
  const labels = c.Config.Labels ?? {};
  return k in labels && (v === undefined || labels[k] === v);
}

