import { InvalidParameterError } from '../../kernel/index.js';

/**
 * Parses the timestamps of `since`/`until` (events, logs) as dockerd's
 * timetypes.GetTimestamp does: Unix seconds with an optional `.nanoseconds`
 * part (what the CLI sends), an RFC 3339 date, or a Go duration ("10m")
 * meaning that long before now. Returns Unix nanoseconds as a bigint.
 */
export function parseTimestamp(value: string, now: Date = new Date()): bigint {
  const v = value.trim();
  const unix = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (unix) return BigInt(unix[1]!) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0') || '0');
  const dur = parseGoDuration(v);
  if (dur !== undefined) return BigInt(now.getTime()) * 1_000_000n - dur;
  const ms = Date.parse(v);
  if (!Number.isNaN(ms)) {
    const frac = /\.(\d+)/.exec(v)?.[1] ?? '';
    const subMs = BigInt((frac.slice(3, 9) || '').padEnd(6, '0') || '0');
    return BigInt(ms) * 1_000_000n + subMs;
  }
  throw new InvalidParameterError(`failed to parse value as time or duration: "${value}"`);
}

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, 'µs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** Go's time.ParseDuration for the common forms ("1h30m", "10s", "250ms"). */
export function parseGoDuration(v: string): bigint | undefined {
  if (!/^([0-9.]+(ns|us|µs|ms|s|m|h))+$/.test(v)) return undefined;
  let total = 0n;
  for (const m of v.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) {
    total += BigInt(Math.round(Number(m[1]) * Number(UNIT_NS[m[2]!]!)));
  }
  return total;
}
