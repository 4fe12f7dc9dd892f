/**
 * Facts a route knows that only an older API version shows (image inspect's
 * `Container`/`ContainerConfig` below 1.45, say). Routes produce the newest
 * shape; they attach such facts under this symbol, which JSON.stringify
 * never writes, and the version adapter that restores the old shape reads
 * them from there.
 */
export const LEGACY_FIELDS = Symbol.for('berth.api.legacyFields');

export function attachLegacy<T extends object>(body: T, facts: Record<string, unknown>): T {
  Object.defineProperty(body, LEGACY_FIELDS, { value: facts, enumerable: false });
  return body;
}

export function legacyOf(body: unknown): Record<string, unknown> | undefined {
  return body !== null && typeof body === 'object' ? (body as Record<symbol, Record<string, unknown>>)[LEGACY_FIELDS] : undefined;
}

/**
 * Returns a copy of `obj` with `entries` inserted right after `after` (or at
 * the end), preserving key order, so a restored field sits where dockerd's
 * struct put it.
 */
export function insertAfter(obj: Record<string, unknown>, after: string | null, entries: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(obj)) {
    if (k in entries) continue;
    out[k] = v;
    if (k === after) { Object.assign(out, entries); placed = true; }
  }
  if (!placed) Object.assign(out, entries);
  const facts = legacyOf(obj);
  return facts ? attachLegacy(out, facts) : out;
}
