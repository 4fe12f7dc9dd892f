import { InvalidParameterError, errorMessage } from '../errors.js';
import { decodeConfigText } from './decode.js';
import { IGNORED_KEYS, removedMessage, specOf } from './keys.js';
import { typeProblems } from './type-check.js';
import { isPlainObject } from './values.js';

/**
 * daemon.json bytes → the keys it sets, following dockerd's load pipeline
 * (getConflictFreeConfiguration): decode, parse, flatten one level, reject
 * unknown keys, then type-check what its typed decode would read.
 */

/** One key as the unknown-key check sees it, after dockerd's one-level flattening. */
interface Entry {
  key: string;
  /** Where it was written, for messages: `debug` or `proxies.http-proxy`. */
  path: string;
  value: unknown;
  /** Whether dockerd's typed decode reads it from there (else it is accepted but ignored). */
  effective: boolean;
}

/**
 * Returns the keys the file sets, flat (proxy settings as `http-proxy` etc.).
 * Empty or whitespace-only input is `{}`. Throws InvalidParameterError with
 * dockerd's wording; the caller adds the `unable to configure…` prefix.
 */
export function parseConfigBytes(bytes: Buffer): Record<string, unknown> {
  let text: string;
  try {
    text = decodeConfigText(bytes);
  } catch (err) {
    throw new InvalidParameterError(errorMessage(err));
  }
  if (text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidParameterError(`invalid JSON: ${errorMessage(err)}`);
  }
  if (!isPlainObject(raw)) {
    const kind = Array.isArray(raw) ? 'array' : raw === null ? 'null' : typeof raw === 'number' ? 'number' : typeof raw === 'boolean' ? 'bool' : 'string';
    throw new InvalidParameterError(`invalid JSON: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  return parseConfigObject(raw);
}

/** The checks after JSON parsing, for callers that already hold an object. */
export function parseConfigObject(raw: Record<string, unknown>): Record<string, unknown> {
  const entries = flatten(raw);

  const unknown = [...new Set(entries.map((e) => e.key).filter((k) => !specOf(k) && !IGNORED_KEYS.has(k) && !removedMessage(k)))].sort();
  const structural: string[] = [];
  // Sorted, unlike dockerd (Go map order), so the message is stable across runs.
  if (unknown.length) structural.push(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
  for (const e of entries) {
    const removed = removedMessage(e.key);
    if (removed) structural.push(removed);
  }
  if (structural.length) throw new InvalidParameterError(structural.join('\n'));

  const out: Record<string, unknown> = {};
  const typeErrors: string[] = [];
  for (const e of entries) {
    // Go's decoder leaves a field untouched for `null`; so do we.
    if (!e.effective || e.value === null) continue;
    const problems = typeProblems(e.path, specOf(e.key)!, e.value);
    typeErrors.push(...problems.map((p) => `invalid JSON: ${p}`));
    if (!problems.length) out[e.key] = e.value;
  }
  if (typeErrors.length) throw new InvalidParameterError(typeErrors.join('\n'));
  return out;
}

/**
 * dockerd's configValuesSet: a nested object is replaced by its children
 * (one level), except for the "flat" options whose values are maps.
 */
function flatten(raw: Record<string, unknown>): Entry[] {
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const spec = specOf(key);
    if (isPlainObject(value) && !spec?.flat) {
      for (const [child, childValue] of Object.entries(value)) {
        entries.push({ key: child, path: `${key}.${child}`, value: childValue, effective: specOf(child)?.parent === key });
      }
      continue;
    }
    entries.push({ key, path: key, value, effective: spec !== undefined && spec.parent === undefined });
  }
  return entries;
}
