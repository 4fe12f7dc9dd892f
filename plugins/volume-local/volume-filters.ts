import { ANONYMOUS_VOLUME_LABEL, InvalidParameterError, type VolumeFilterArgs } from '../../kernel/index.js';

/** What a filter looks at in one volume. */
export interface FilterSubject {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  referenced: boolean;
}

export type VolumePredicate = (v: FilterSubject) => boolean;

/**
 * `GET /volumes` filters with dockerd's meaning (volume/service convert.go
 * filtersToBy): `driver` exact, `name` exact or a regular expression found in
 * the name, `label` key or key=value (all must hold), `dangling` true/false/1/0
 * (unreferenced when true).
 */
export function listPredicate(f: VolumeFilterArgs): VolumePredicate {
  const preds: VolumePredicate[] = [];
  const drivers = f.driver ?? [];
  if (drivers.length) preds.push((v) => drivers.includes(v.driver));
  const names = f.name ?? [];
  if (names.length) preds.push((v) => names.some((n) => n === v.name || regexFinds(n, v.name)));
  preds.push(labelPredicate(f));
  if (f.dangling !== undefined) {
    const dangling = boolFilter('dangling', f.dangling);
    preds.push((v) => v.referenced !== dangling);
  }
  return (v) => preds.every((p) => p(v));
}

/**
 * `POST /volumes/prune` filters (service.go withPrune + filtersToBy): without
 * `all=true` only anonymous volumes are candidates; `label` and `label!` narrow.
 * Referenced volumes and volumes with driver options are excluded by the caller.
 */
export function prunePredicate(f: VolumeFilterArgs): VolumePredicate {
  const all = f.all ?? [];
  if (all.length > 1) throw new InvalidParameterError(`invalid filter 'all=${goSlice(all)}': only one value is expected`);
  let pruneAll = false;
  if (all.length === 1) {
    const b = parseGoBool(all[0]!);
    if (b === undefined) throw new InvalidParameterError(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(all[0])}: invalid syntax`);
    pruneAll = b;
  }
  const labels = pruneAll ? f : { ...f, label: [...(f.label ?? []), ANONYMOUS_VOLUME_LABEL] };
  return labelPredicate(labels);
}

/** filters.MatchKVList for `label`, and its negation for `label!`. */
function labelPredicate(f: VolumeFilterArgs): VolumePredicate {
  const want = f.label ?? [];
  const not = f['label!'] ?? [];
  return (v) => (want.length === 0 || matchKV(want, v.labels)) && (not.length === 0 || !matchKV(not, v.labels));
}

function matchKV(filters: string[], labels: Record<string, string> | null): boolean {
  if (!labels || Object.keys(labels).length === 0) return false;
  return filters.every((f) => {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (!Object.hasOwn(labels, key)) return false;
    return eq < 0 || labels[key] === f.slice(eq + 1);
  });
}

/** filters.GetBoolOrDefault: exactly one of true/1 or false/0, else dockerd's invalid filter error. */
function boolFilter(key: string, values: string[]): boolean {
  const isTrue = values.includes('1') || values.includes('true');
  const isFalse = values.includes('0') || values.includes('false');
  if (isTrue === isFalse) throw new InvalidParameterError(`invalid filter '${key}=${goSlice(values)}'`);
  return isTrue;
}

/** strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** regexp.MatchString: the pattern anywhere in the name; an invalid pattern matches nothing. */
function regexFinds(pattern: string, s: string): boolean {
  try {
    return new RegExp(pattern).test(s);
  } catch {
    return false;
  }
}

/** Go's %s of a []string: "[a b]". */
function goSlice(values: string[]): string {
  return `[${values.join(' ')}]`;
}
