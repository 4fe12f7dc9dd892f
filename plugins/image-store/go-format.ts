/**
 * Byte-level habits of Go's encoders that show in what dockerd writes:
 * encoding/json escapes <, > and & (and U+2028/2029) inside strings, and
 * time.Format(RFC3339Nano) prints nanoseconds with trailing zeros trimmed.
 * Configs Berth writes follow them so they look like dockerd's; configs
 * received from elsewhere are never re-encoded.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Unix nanoseconds now: milliseconds from the clock, the rest from hrtime (as dockerEvent does). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}

/** time.Time.UTC().Format(RFC3339Nano) of Unix nanoseconds. */
export function formatRfc3339Nano(ns: bigint, offsetMinutes = 0): string {
  const ms = Number(ns / 1_000_000n) + offsetMinutes * 60_000;
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return base + (frac ? `.${frac}` : '') + formatOffset(offsetMinutes);
}

/** time.Now().Format(RFC3339Nano) in the local zone (dockerd's lastUpdated metadata). */
export function localRfc3339Nano(ns: bigint = nowNs()): string {
  const offset = -new Date(Number(ns / 1_000_000n)).getTimezoneOffset();
  return formatRfc3339Nano(ns, offset);
}

function formatOffset(minutes: number): string {
  if (minutes === 0) return 'Z';
  const sign = minutes > 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Unix nanoseconds of an RFC 3339 time, or undefined when it does not parse. */
export function rfc3339ToNs(s: string | undefined): bigint | undefined {
  if (!s) return undefined;
  const m = RFC3339_RE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', off] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (Number.isNaN(ms)) return undefined;
  if (off !== 'Z' && off !== 'z') {
    const sign = off!.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(off!.slice(1, 3)) * 60 + Number(off!.slice(4, 6))) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt((frac.slice(0, 9) || '0').padEnd(9, '0'));
}

/** Go's parse-then-Format(RFC3339Nano): same instant and zone, fraction trimmed. */
export function normalizeRfc3339(s: string): string {
  const m = RFC3339_RE.exec(s);
  if (!m) return s;
  const frac = (m[7] ?? '').slice(0, 9).replace(/0+$/, '');
  // Go prints a zero offset as Z.
  const zone = /^(?:[Zz]|[+-]00:00)$/.test(m[8]!) ? 'Z' : m[8];
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${frac ? '.' + frac : ''}${zone}`;
}

/** Unix seconds of an RFC 3339 time (time.Time.Unix), 0 when absent. */
export function unixSeconds(s: string | undefined): number {
  const ns = rfc3339ToNs(s);
  if (ns === undefined) return 0;
  const sec = ns / 1_000_000_000n;
  return Number(ns < 0n && ns % 1_000_000_000n !== 0n ? sec - 1n : sec);
}
