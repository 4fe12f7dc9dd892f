import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.42 (Engine 23.0), from moby's api/docs/CHANGELOG.md:
 * "GET /system/df can now take a `type` query parameter to select which
 * object types to compute." and "GET /images/json accepts `shared-size`."
 * Older clients never meant them: ignore them.
 *
 * "POST /volumes/prune will now only prune anonymous volumes by default. A
 * new filter parameter `all` can be set to a truth-y value to get the old
 * behavior." Older clients get the old behavior: `all=true` is added to their
 * filters, as dockerd's postVolumesPrune does (so `all=false` from them is an error).
 *
 * "The `POST /containers/{id}/stop` and `POST /containers/{id}/restart`
 * endpoints now accept a `signal` query parameter" — older clients never sent
 * one. And non-TTY attach, exec and logs streams are now labelled
 * `application/vnd.docker.multiplexed-stream`; older clients get the one
 * label there was, `application/vnd.docker.raw-stream` (the bytes are framed
 * the same either way).
 */
export const v1_42: ApiAdapter = {
  version: '1.42',
  summary: 'system/df accepts type=',
  request(route, req) {
    if (route === 'system.df') delete req.query.type;
    if (route === 'image.list') delete req.query['shared-size'];
    if (route === 'volumes.prune') req.query.filters = withFilter(req.query.filters, 'all', 'true');
    if (route === 'containers.stop' || route === 'containers.restart') delete req.query.signal;
  },
  headers(route, headers) {
    if (MULTIPLEXED_ROUTES.has(route) && headers['Content-Type'] === 'application/vnd.docker.multiplexed-stream') {
      headers['Content-Type'] = 'application/vnd.docker.raw-stream';
    }
  },
};

const MULTIPLEXED_ROUTES = new Set(['containers.logs', 'containers.attach', 'exec.start']);

/**
 * Adds one value to a `filters` query (filters.Args.Add): both the map form
 * and the legacy list form are kept; unparsable JSON is left for the route to refuse.
 */
function withFilter(raw: string | string[] | undefined, key: string, value: string): string | string[] | undefined {
  const text = Array.isArray(raw) ? raw[0] : raw;
  let f: Record<string, unknown> = {};
  if (text) {
    try {
      f = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return raw;
    }
    if (f === null || typeof f !== 'object' || Array.isArray(f)) return raw;
  }
  const cur = f[key];
  if (Array.isArray(cur)) cur.push(value);
  else if (cur && typeof cur === 'object') (cur as Record<string, boolean>)[value] = true;
  else f[key] = { [value]: true };
  return JSON.stringify(f);
}
