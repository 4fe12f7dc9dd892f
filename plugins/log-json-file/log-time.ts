/**
 * Log timestamps in Unix nanoseconds (a Date keeps only milliseconds, and
 * `docker logs --since` compares nanoseconds).
 */

/** The instant of an entry: its exact nanoseconds when given, else its Date. */
export function entryNano(e: { time: Date; timeNano?: bigint }): bigint {
  return e.timeNano ?? BigInt(e.time.getTime()) * 1_000_000n;
}

export function toNano(t: Date | bigint | undefined): bigint | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'bigint' ? t : BigInt(t.getTime()) * 1_000_000n;
}

/**
 * Go's `t.UTC().Format(time.RFC3339Nano)`, which is what dockerd writes in the
 * `time` field (jsonlog.fastTimeMarshalJSON): nanoseconds with trailing zeros
 * trimmed ("…05.1234Z", "…05Z" on a whole second). `docker logs -t` prints the
 * fixed 9-digit form instead; that formatting belongs to the logs endpoint.
 */
export function formatRfc3339Nano(nano: bigint): string {
  const secs = floorDiv(nano, 1_000_000_000n);
  const frac = nano - secs * 1_000_000_000n;
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  if (frac === 0n) return `${base}Z`;
  return `${base}.${frac.toString().padStart(9, '0').replace(/0+$/, '')}Z`;
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9})\d*)?(?:([Zz])|([+-])(\d\d):(\d\d))$/;

/** Parses RFC 3339 with any fraction and offset into Unix nanoseconds; undefined when malformed. */
export function parseRfc3339Nano(s: unknown): bigint | undefined {
  if (typeof s !== 'string') return undefined;
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return undefined;
  let nano = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  if (!m[8]) {
    const off = BigInt((+m[10]! * 60 + +m[11]!) * 60) * 1_000_000_000n;
    nano = m[9] === '+' ? nano - off : nano + off;
  }
  return nano;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}
