import type { FieldType, KeySpec } from './keys.js';
import { isPlainObject } from './values.js';

/**
 * The type check dockerd gets from decoding daemon.json into its typed Go
 * struct. Messages keep Go's encoding/json wording, which names the offending
 * key: `json: cannot unmarshal string into Go struct field Config.debug of type bool`.
 */

const GO: Record<string, string> = {
  string: 'string', bool: 'bool', int: 'int', 'string[]': '[]string', size: 'opts.MemBytes',
  map: 'map[string]string', 'bool-map': 'map[string]bool', 'map-map': 'map[string]map[string]string',
};

/** Go's name for a JSON value's kind; numbers carry their literal, as Go prints them. */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'string' ? 'string' : 'object';
}

const mismatch = (v: unknown, path: string, goType: string) =>
  `json: cannot unmarshal ${kind(v)} into Go struct field Config.${path} of type ${goType}`;

function scalarOk(t: 'string' | 'bool' | 'int', v: unknown): boolean {
  if (t === 'string') return typeof v === 'string';
  if (t === 'bool') return typeof v === 'boolean';
  return typeof v === 'number' && Number.isInteger(v);
}

function checkField(t: FieldType, v: unknown, path: string, out: string[]): void {
  if (t === 'any') return;
  if (t === 'string[]') { checkList(v, path, out); return; }
  if (!scalarOk(t, v)) out.push(mismatch(v, path, t));
}

function checkList(v: unknown, path: string, out: string[]): void {
  if (!Array.isArray(v)) { out.push(mismatch(v, path, '[]string')); return; }
  for (const el of v) if (typeof el !== 'string') out.push(mismatch(el, path, 'string'));
}

function checkStringMap(v: unknown, path: string, goType: string, valueType: 'string' | 'bool', out: string[]): void {
  if (!isPlainObject(v)) { out.push(mismatch(v, path, goType)); return; }
  for (const val of Object.values(v)) if (!scalarOk(valueType, val)) out.push(mismatch(val, path, valueType));
}

function checkStruct(v: unknown, path: string, goType: string, fields: KeySpec['fields'], out: string[]): void {
  if (!isPlainObject(v)) { out.push(mismatch(v, path, goType)); return; }
  for (const [name, t] of Object.entries(fields ?? {})) {
    if (v[name] !== undefined) checkField(t, v[name], `${path}.${name}`, out);
  }
}

/** All type errors for one key's value (path is the key as written, e.g. `proxies.http-proxy`). */
export function typeProblems(path: string, spec: KeySpec, v: unknown): string[] {
  const out: string[] = [];
  const goType = spec.go ?? GO[spec.type] ?? 'struct';
  switch (spec.type) {
    case 'string': case 'bool': case 'int':
      if (!scalarOk(spec.type, v)) out.push(mismatch(v, path, spec.type));
      break;
    case 'size':
      // dockerd's MemBytes only unmarshals from a JSON string ("64M"); a number is `invalid size: "64"`.
      if (typeof v !== 'string') out.push(`invalid size: ${JSON.stringify(JSON.stringify(v))} (${path} must be a string such as "64M")`);
      break;
    case 'string[]': checkList(v, path, out); break;
    case 'map': checkStringMap(v, path, goType, 'string', out); break;
    case 'bool-map': checkStringMap(v, path, goType, 'bool', out); break;
    case 'map-map':
      if (!isPlainObject(v)) out.push(mismatch(v, path, goType));
      else for (const inner of Object.values(v)) checkStringMap(inner, path, 'map[string]string', 'string', out);
      break;
    case 'object': checkStruct(v, path, goType, spec.fields, out); break;
    case 'object-map':
      if (!isPlainObject(v)) out.push(mismatch(v, path, `map[string]${goType}`));
      else for (const item of Object.values(v)) checkStruct(item, path, goType, spec.fields, out);
      break;
    case 'object[]':
      if (!Array.isArray(v)) out.push(mismatch(v, path, `[]${goType}`));
      else for (const item of v) checkStruct(item, path, goType, spec.fields, out);
      break;
  }
  return out;
}
