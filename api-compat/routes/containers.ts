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
} from '../../kernel/index.js';
import { inspectView, summaryView } from '../../plugins/container-service/container-view.js';
import { PS_FILTERS, selectContainers } from '../../plugins/container-service/list-filter.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { Filters } from '../http/filters.js';
import { queryBool, queryInt, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { startStream } from '../http/streaming.js';
import { parseTimestamp } from '../http/timestamps.js';

interface CreateBody extends ContainerConfig {
  HostConfig?: HostConfig | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
}

/** Container routes: create, list, inspect, rename, remove, prune, changes, wait. */
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

  defineRoute(router, deps, 'get', '/containers/json', 'containers.list', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(PS_FILTERS);
    const service = svc();
    const all = await service.list();
    const images = deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
    // `ancestor` names an image; containers match by the name they were created with or the image's ID.
    const ancestorIds = new Set(await Promise.all(filters.get('ancestor').map((a) => images?.get(a).then((i) => i.id, () => undefined))));
    const byRef = new Map(all.map((c) => [c.Id, c] as const));
    const selected = selectContainers(all, {
      all: queryBool(ctx.query.all),
      limit: queryInt('limit', ctx.query.limit),
      filters,
      resolve: (ref) => byRef.get(ref) ?? all.find((c) => c.Name === `/${ref}` || c.Id.startsWith(ref)) ?? raiseNoSuch(ref),
      imageMatches: (c, ancestor) => c.ImageName === ancestor || ancestorIds.has(c.Image),
    });
    const withSize = queryBool(ctx.query.size);
    ctx.body = await Promise.all(selected.map(async (c) => summaryView(c, withSize ? await service.sizes(c.Id) : undefined)));
  });

  defineRoute(router, deps, 'get', '/containers/:id/json', 'containers.inspect', async (ctx) => {
    const service = svc();
    const c = await service.get(ctx.params.id!);
    const graph = deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
    ctx.body = inspectView(c, {
      graphDriverData: graph ? await graph.metadata(c.Id).catch(() => undefined) : undefined,
      sizes: queryBool(ctx.query.size) ? await service.sizes(c.Id) : undefined,
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
    const changes = await deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver).changes(c.Id, `${c.Id}-init`);
    // dockerd answers `null`, not `[]`, when nothing changed (observed).
    if (changes.length) ctx.body = changes;
    else { ctx.body = 'null\n'; ctx.set('Content-Type', 'application/json'); }
  });

  defineRoute(router, deps, 'post', '/containers/:id/wait', 'containers.wait', async (ctx) => {
    const condition = queryString(ctx.query.condition) || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameterError(`invalid condition: "${condition}"`);
    const c = await svc().get(ctx.params.id!);
    // Register before answering: the CLI sends start only after the headers arrive (pitfall 5).
    const { out, signal } = startStream(ctx, 'application/json');
    const done = (rec: ContainerRecord | undefined) => {
      out.end(JSON.stringify({ Error: null, StatusCode: rec?.State.ExitCode ?? 0 }) + '\n');
    };
    if (condition === 'not-running' && !c.State.Running) return done(c);
    const wanted = condition === 'removed' ? 'destroy' : 'die';
    const sub = deps.events.on('docker.event', (e) => {
      if (e.Type !== 'container' || e.Actor.ID !== c.Id || e.Action !== wanted) return;
      sub.dispose();
      void svc().get(c.Id).then(done, () => done({ ...c, State: { ...c.State, ExitCode: Number(e.Actor.Attributes.exitCode ?? 0) } }));
    });
    signal.addEventListener('abort', () => sub.dispose(), { once: true });
  });

  defineRoute(router, deps, 'post', '/containers/:id/start', 'containers.start', async (ctx) => {
    await svc().get(ctx.params.id!);
    throw new NotImplementedError('starting containers needs an exec driver, which this berthd does not have yet');
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

