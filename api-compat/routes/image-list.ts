import { ExtensionPoint, InvalidParameterError, type ImageInfo, type ImageStore, type PluginHost } from '../../kernel/index.js';
import { Filters } from '../http/filters.js';
import { parseTimestamp } from '../http/timestamps.js';
import { imageSummary, type ImageSummary } from './image-shapes.js';
import { globMatch } from '../http/glob-match.js';

/**
 * `GET /images/json` (daemon/images/image_list.go): filters `dangling`,
 * `label`, `before`, `since`, `until`, `reference`; `all` adds untagged
 * intermediate images; `shared-size` computes SharedSize. Newest first.
 */
export const LIST_FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

export interface ListOptions {
  all: boolean;
  sharedSize: boolean;
  filters: Filters;
  /** Containers per image ID (absent: none). */
  containers?: Map<string, number>;
}

export async function listImages(store: ImageStore, opts: ListOptions): Promise<ImageSummary[]> {
  const f = opts.filters.validate(LIST_FILTERS);
  const danglingOnly = boolFilter(f, 'dangling', false);
  let before: bigint | undefined;
  let since: bigint | undefined;
  for (const v of f.get('before')) {
    const t = createdNs(await store.get(v));
    if (t !== undefined && (before === undefined || t < before)) before = t;
  }
  for (const v of f.get('until')) {
    const t = parseTimestamp(v);
    if (before === undefined || t < before) before = t;
  }
  for (const v of f.get('since')) {
    const t = createdNs(await store.get(v));
    if (t !== undefined && (since === undefined || t > since)) since = t;
  }
  const all = await store.list();
  const out: Array<{ summary: ImageSummary; created: bigint }> = [];
  for (const img of all) {
    if (danglingOnly && img.children > 0) continue;
    const created = createdNs(img);
    if (before !== undefined && (created === undefined || created >= before)) continue;
    if (since !== undefined && (created === undefined || created <= since)) continue;
    if (f.has('label') && (!img.config.config || !f.matchesLabels(img.config.config.Labels ?? undefined))) continue;
    const keep = (ref: string) => !f.has('reference') || f.get('reference').some((p) => globMatch(p, ref) || globMatch(p, nameOf(ref)));
    const repoTags = img.repoTags.filter(keep);
    const repoDigests = img.repoDigests.filter(keep);
    if (repoTags.length === 0 && repoDigests.length === 0) {
      if (!(opts.all || img.children === 0)) continue;
      if (f.has('dangling') && !danglingOnly) continue;
      if (f.has('reference')) continue;
    } else if (danglingOnly && repoTags.length > 0) continue;
    out.push({ summary: imageSummary(img, { sharedSize: -1, containers: opts.containers?.get(img.id) ?? 0, repoTags, repoDigests }), created: created ?? 0n });
  }
  if (opts.sharedSize) applySharedSize(all, out.map((o) => o.summary));
  out.sort((a, b) => (b.summary.Created - a.summary.Created) || (b.created > a.created ? 1 : b.created < a.created ? -1 : 0));
  return out.map((o) => o.summary);
}

/** SharedSize: the size of each image's layers that other images use too. */
export function applySharedSize(all: ImageInfo[], summaries: ImageSummary[]): void {
  const uses = new Map<string, number>();
  for (const img of all) for (const l of img.layers) uses.set(l.chainId, (uses.get(l.chainId) ?? 0) + 1);
  const byId = new Map(all.map((i) => [i.id, i]));
  for (const s of summaries) {
    const img = byId.get(s.Id);
    s.SharedSize = img ? img.layers.reduce((n, l) => n + ((uses.get(l.chainId) ?? 0) > 1 ? l.size : 0), 0) : 0;
  }
}

/** filters.GetBoolOrDefault: exactly one of true/1 or false/0. */
export function boolFilter(f: Filters, key: string, absent: boolean): boolean {
  const values = f.get(key);
  if (values.length === 0) return absent;
  const isTrue = values.includes('1') || values.includes('true');
  const isFalse = values.includes('0') || values.includes('false');
  if (isTrue === isFalse) throw new InvalidParameterError(`invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}

function createdNs(img: ImageInfo): bigint | undefined {
  const s = img.config.created;
  if (!s) return undefined;
  try {
    return parseTimestamp(s);
  } catch {
    return undefined;
  }
}

/** The familiar name part of a familiar reference (`busybox` of `busybox:1`, `localhost:5000/x` of `localhost:5000/x:1`). */
function nameOf(ref: string): string {
  const at = ref.indexOf('@');
  const base = at < 0 ? ref : ref.slice(0, at);
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
}

/** `/system/df` Images: the top-level images (as `docker images`), with SharedSize. */
export async function diskUsageImages(store: ImageStore, host: PluginHost): Promise<ImageSummary[]> {
  return listImages(store, { all: false, sharedSize: true, filters: new Filters(), containers: await containersPerImage(host) });
}

/** How many containers use each image, from the container service when one is active (looked up by shape). */
export async function containersPerImage(host: PluginHost): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const svc = host.tryCurrent<{ list?: () => Promise<Array<{ Image: string }>> }>(ExtensionPoint.ContainerService);
  if (typeof svc?.list !== 'function') return out;
  for (const c of await svc.list()) out.set(c.Image, (out.get(c.Image) ?? 0) + 1);
  return out;
}
