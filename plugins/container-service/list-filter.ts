import { InvalidParameterError, type ContainerRecord } from '../../kernel/index.js';

/** Filter keys `GET /containers/json` accepts (dockerd's acceptedPsFilterTags). */
export const PS_FILTERS = ['ancestor', 'before', 'exited', 'health', 'id', 'isolation', 'is-task', 'expose', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'];
const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

export interface PsQuery {
  all: boolean;
  limit: number;
  filters: { get(key: string): string[]; has(key: string): boolean; matchesLabels(l: Record<string, string> | undefined): boolean };
  resolve(ref: string): ContainerRecord;
  imageMatches(c: ContainerRecord, ancestor: string): boolean;
  /** The networks (ID and name) a container is connected to, for the `network` filter. */
  networks?(c: ContainerRecord): Array<{ id: string; name: string }>;
}

/** dockerd's `docker ps` selection: running only unless all/limit/filters say otherwise; newest first. */
export function selectContainers(all: ContainerRecord[], q: PsQuery): ContainerRecord[] {
  const f = q.filters;
  for (const s of f.get('status')) if (!STATUSES.includes(s)) throw new InvalidParameterError(`invalid filter 'status=${s}'`);
  for (const h of f.get('health')) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new InvalidParameterError(`Unrecognised filter value for health: ${h}`);
  const exited = f.get('exited').map((e) => {
    if (!/^-?\d+$/.test(e)) throw new InvalidParameterError(`invalid filter 'exited=${e}'`);
    return Number(e);
  });
  const before = f.has('before') ? Date.parse(q.resolve(f.get('before')[0]!).Created) : undefined;
  const since = f.has('since') ? Date.parse(q.resolve(f.get('since')[0]!).Created) : undefined;
  const showAll = q.all || q.limit > 0 || f.has('status') || f.has('exited');
  const sorted = all.map((c) => ({ c, t: createdMs(c) })).sort((a, b) => b.t - a.t).map((x) => x.c);
  const out = sorted.filter((c) => {
    if (!showAll && !c.State.Running && !c.State.Paused) return false;
    if (f.has('id') && !f.get('id').some((p) => c.Id.startsWith(p))) return false;
    if (f.has('name') && !f.get('name').some((n) => safeRegExp(n).test(c.Name.slice(1)) || safeRegExp(n).test(c.Name))) return false;
    if (!f.matchesLabels(c.Config.Labels ?? undefined)) return false;
    if (f.has('status') && !f.get('status').includes(c.State.Status)) return false;
    if (exited.length && (c.State.Status !== 'exited' || !exited.includes(c.State.ExitCode))) return false;
    if (f.has('ancestor') && !f.get('ancestor').some((a) => q.imageMatches(c, a))) return false;
    if (before !== undefined && Date.parse(c.Created) >= before) return false;
    if (since !== undefined && Date.parse(c.Created) <= since) return false;
    if (f.has('is-task') && f.get('is-task').includes('true')) return false;
    if (f.has('expose') && !f.get('expose').some((e) => Object.keys(c.Config.ExposedPorts ?? {}).some((p) => p === e || p === `${e}/tcp`))) return false;
    if (f.has('volume') && !f.get('volume').some((v) => Object.values(c.MountPoints ?? {}).some((m) => m.Name === v || m.Source === v || m.Destination === v))) return false;
    if (f.has('health') && !f.get('health').includes(c.State.Health?.Status ?? 'none')) return false;
    if (f.has('network') && !f.get('network').some((n) => (q.networks?.(c) ?? []).some((x) => x.name === n || x.id.startsWith(n)))) return false;
    // `publish` is not matched yet: no container matches rather than all of them.
    if (f.has('publish')) return false;
    return true;
  });
  return q.limit > 0 ? out.slice(0, q.limit) : out;
}

// Creation times parsed once per record (records are replaced, not mutated, on change):
// Date.parse of an RFC 3339 time with nanoseconds is slow, and `docker ps` sorts on every call.
const createdCache = new WeakMap<ContainerRecord, number>();
function createdMs(c: ContainerRecord): number {
  let t = createdCache.get(c);
  if (t === undefined) createdCache.set(c, (t = Date.parse(c.Created)));
  return t;
}

function safeRegExp(s: string): RegExp {
  try {
    return new RegExp(s);
  } catch {
    throw new InvalidParameterError(`invalid filter 'name=${s}'`);
  }
}
