/**
 * Small helpers for the plain JSON values a daemon configuration is made of.
 * Kept apart so parse, merge and reload agree on what "equal" and "a copy" mean.
 */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy, so a merged or reloaded config never shares arrays/maps with its inputs. */
export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Structural equality with key order ignored: what "this key changed" means on reload. */
export function deepEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Go's `%v` rendering of a decoded JSON value (`[a b]`, `map[k:v]`, `<nil>`):
 * dockerd prints flag/file conflicts this way, and users grep for those lines.
 */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isPlainObject(v)) {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** dockerd's MaskCredentials: proxy URLs are printed with `xxxxx:xxxxx` as user info. */
export function maskCredentials(raw: string): string {
  return raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/?#]*@/, '$1xxxxx:xxxxx@');
}
