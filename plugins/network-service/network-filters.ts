import { InvalidParameterError, type NetworkFilterArgs } from '../../kernel/index.js';
import type { NetworkRecord } from './records.js';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];
const PRUNE_FILTERS = ['until', 'label', 'label!'];

/** dockerd's network list filters (daemon/network/filter.go); 400 `Invalid filter 'x'` for others. */
export function validateFilters(f: NetworkFilterArgs, prune = false): void {
  const accepted = prune ? PRUNE_FILTERS : LIST_FILTERS;
  for (const k of Object.keys(f)) if (!accepted.includes(k)) throw new InvalidParameterError(`Invalid filter '${k}'`);
  for (const t of f.type ?? []) if (t !== 'custom' && t !== 'builtin') throw new InvalidParameterError(`invalid filter: 'type'='${t}'`);
}

/**
 * `name` and `id` match substrings (dockerd's fuzzy match on name, prefix
 * on ID), `label` is `key` or `key=value`, `type` is builtin/custom,
 * `dangling` is no container attached; prune: `until` and labels.
 */
export function matchNetwork(n: NetworkRecord, f: NetworkFilterArgs, inUse: boolean, prune = false): boolean {
  const any = (k: string, pred: (v: string) => boolean) => !f[k]?.length || f[k]!.some(pred);
  const labelMatch = (v: string) => {
    const [k, val] = v.split(/=(.*)/s);
    return val === undefined ? k! in n.Labels : n.Labels[k!] === val;
  };
  if (prune) {
    if (f.until?.length && !f.until.some((u) => Date.parse(n.Created) < untilMs(u))) return false;
    if (f.label?.length && !f.label.every(labelMatch)) return false;
    if (f['label!']?.length && f['label!'].some(labelMatch)) return false;
    return true;
  }
  return any('driver', (v) => n.Driver === v)
    && any('id', (v) => n.Id.startsWith(v) || n.Id.includes(v))
    && any('name', (v) => n.Name.includes(v))
    && any('scope', (v) => v === 'local')
    && any('type', (v) => (v === 'builtin') === (n.Predefined === true))
    && (!f.label?.length || f.label.every(labelMatch))
    && any('dangling', (v) => (v === 'true' || v === '1') === (!inUse && !n.Predefined));
}

/** The `until` filter: Unix seconds, RFC 3339, or a Go duration before now. */
function untilMs(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)(h|m|s)$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { h: 3_600_000, m: 60_000, s: 1000 }[d[2] as 'h' | 'm' | 's'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameterError(`invalid filter 'until=${v}'`);
  return t;
}
