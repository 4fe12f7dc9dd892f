import { InvalidParameterError } from '../../kernel/index.js';

type QueryValue = string | string[] | undefined;

/** First value of a query parameter. */
export function queryString(v: QueryValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** dockerd's BoolValue: "", 0, no, false, none → false; anything else → true. */
export function queryBool(v: QueryValue, absent = false): boolean {
  const s = queryString(v);
  if (s === undefined) return absent;
  return !['', '0', 'no', 'false', 'none'].includes(s.trim().toLowerCase());
}

/** dockerd's Int64ValueOrZero-style integer parameter, 400 on garbage. */
export function queryInt(name: string, v: QueryValue, absent = 0): number {
  const s = queryString(v);
  if (s === undefined || s === '') return absent;
  if (!/^-?\d+$/.test(s)) throw new InvalidParameterError(`invalid value for ${name}: ${s}`);
  return Number(s);
}

/** Every value of a repeatable query parameter. */
export function queryList(v: QueryValue): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
