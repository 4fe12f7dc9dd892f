import type Router from '@koa/router';
import {
  ExtensionPoint,
  InvalidParameterError,
  UnavailableError,
  type CreateVolumeRequest,
  type VolumeFilterArgs,
  type VolumeService,
} from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { Filters } from '../http/filters.js';
import { queryBool, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';

const LIST_FILTERS = ['dangling', 'driver', 'label', 'name'];
const PRUNE_FILTERS = ['label', 'label!', 'all'];

/**
 * The volume endpoints (dockerd's daemon/server/router/volume). Names are
 * matched greedily, as dockerd's `{name:.*}`, so `GET /volumes/a/b` answers
 * `get a/b: no such volume` rather than a route 404. Routes below 1.42 see
 * prune's old "every unused volume" meaning through the v1_42 adapter.
 */
export function volumeRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<VolumeService>(ExtensionPoint.VolumeService);

  defineRoute(router, deps, 'get', '/volumes', 'volumes.list', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(LIST_FILTERS);
    const { volumes, warnings } = await svc().list(filterArgs(filters, LIST_FILTERS));
    // Go's nil slice: `"Warnings":null` when there are none.
    ctx.body = { Volumes: volumes, Warnings: warnings.length ? warnings : null };
  });

  defineRoute(router, deps, 'post', '/volumes/create', 'volumes.create', async (ctx, api) => {
    const body = api.liftBody(await readJson<Record<string, unknown>>(ctx));
    ctx.status = 201;
    ctx.body = await svc().create(createRequest(body));
  });

  defineRoute(router, deps, 'post', '/volumes/prune', 'volumes.prune', async (ctx) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(PRUNE_FILTERS);
    ctx.body = await svc().prune(filterArgs(filters, PRUNE_FILTERS));
  });

  defineRoute(router, deps, 'get', '/volumes/*name', 'volumes.inspect', async (ctx) => {
    ctx.body = await svc().get(ctx.params.name!);
  });

  defineRoute(router, deps, 'delete', '/volumes/*name', 'volumes.remove', async (ctx) => {
    await svc().remove(ctx.params.name!, { force: queryBool(ctx.query.force) });
    ctx.status = 204;
  });

  // Updating applies to swarm cluster volumes only; Berth is never a swarm manager.
  defineRoute(router, deps, 'put', '/volumes/*name', 'volumes.update', () => {
    throw new UnavailableError('volume update only valid for cluster volumes, but swarm is unavailable');
  });
}

function filterArgs(filters: Filters, keys: readonly string[]): VolumeFilterArgs {
  return Object.fromEntries(keys.filter((k) => filters.has(k)).map((k) => [k, filters.get(k)]));
}

/**
 * volume.CreateRequest from the body. Go decodes field names case-insensitively
 * and refuses wrong types with encoding/json's message; both are kept.
 */
function createRequest(body: Record<string, unknown> | undefined): CreateVolumeRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidParameterError(`json: cannot unmarshal ${jsonType(body)} into Go value of type volume.CreateRequest`);
  const field = (name: string) => {
    const key = Object.keys(body).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : body[key];
  };
  return {
    name: stringField(field('Name'), 'Name'),
    driver: stringField(field('Driver'), 'Driver'),
    driverOpts: mapField(field('DriverOpts'), 'DriverOpts'),
    labels: mapField(field('Labels'), 'Labels'),
  };
}

function stringField(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(v, name, 'string');
  return v;
}

function mapField(v: unknown, name: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, name, 'map[string]string');
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw typeError(val, `${name}.${k}`, 'string');
  }
  return { ...(v as Record<string, string>) };
}

function typeError(v: unknown, field: string, goType: string): InvalidParameterError {
  return new InvalidParameterError(`json: cannot unmarshal ${jsonType(v)} into Go struct field CreateRequest.${field} of type ${goType}`);
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}
