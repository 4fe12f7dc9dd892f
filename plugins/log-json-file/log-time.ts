/**
 * Log timestamps in Unix nanoseconds (a Date keeps only milliseconds, and
 * `docker logs --since` compares nanoseconds). Formatting and parsing run once
 * per log line, so both keep the "YYYY-MM-DDTHH:MM:SS" of the last second seen.
 */

/** When an entry happened: its exact nanoseconds when given, else its Date. */
export type LogStamp = bigint | { time: Date; timeNano?: bigint };

export function stampNano(s: LogStamp): bigint {
  if (typeof s === 'bigint') return s;
  return s.timeNano ?? BigInt(s.time.getTime()) * 1_000_000n;
}

export function toNano(t: Date | bigint | undefined): bigint | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'bigint' ? t : BigInt(t.getTime()) * 1_000_000n;
}

let fmtSecs = NaN;
let fmtBase = '';

/**
 * Go's `t.UTC().Format(time.RFC3339Nano)`, which is what dockerd writes in the
 * `time` field (jsonlog.fastTimeMarshalJSON): nanoseconds with trailing zeros
 * trimmed ("…05.1234Z", "…05Z" on a whole second). `docker logs -t` prints the
 * fixed 9-digit form instead; that formatting belongs to the logs endpoint.
 */
export function formatStamp(s: LogStamp): string {
  let secs: number;
  let frac: number;
  if (typeof s !== 'bigint' && s.timeNano === undefined) {
    const ms = s.time.getTime();
    secs = Math.floor(ms / 1000);
    frac = (ms - secs * 1000) * 1_000_000;
  } else {
    const nano = typeof s === 'bigint' ? s : s.timeNano!;
    const q = nano / 1_000_000_000n;
    const r = nano - q * 1_000_000_000n;
    secs = Number(r < 0n ? q - 1n : q);
    frac = Number(r < 0n ? r + 1_000_000_000n : r);
  }
  if (secs !== fmtSecs) {
    fmtSecs = secs;
    fmtBase = new Date(secs * 1000).toISOString().slice(0, 19);
  }
  if (frac === 0) return `${fmtBase}Z`;
  let digits = String(frac).padStart(9, '0');
  let end = 9;
  while (digits.charCodeAt(end - 1) === 0x30) end--;
  if (end < 9) digits = digits.slice(0, end);
  return `${fmtBase}.${digits}Z`;
}

export function formatRfc3339Nano(nano: bigint): string {
  return formatStamp(nano);
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9})\d*)?(?:([Zz])|([+-])(\d\d):(\d\d))$/;
let parsePrefix = '';
let parseSecNano = 0n;
let parseSecMs = 0;

/** Parses RFC 3339 with any fraction and offset into Unix nanoseconds; undefined when malformed. */
export function parseRfc3339Nano(s: unknown): bigint | undefined {
  return parseLogTime(s)?.nano;
}

/** The same, with the instant also in milliseconds (for the entry's Date) without a BigInt division. */
export function parseLogTime(s: unknown): { nano: bigint; ms: number } | undefined {
  if (typeof s !== 'string') return undefined;
  // Fast path: dockerd's own UTC form, most lines within the same second as the one before.
  if (parsePrefix !== '' && s.length >= 20 && s.charCodeAt(s.length - 1) === 0x5a /* Z */ && s.startsWith(parsePrefix)) {
    const frac = s.slice(20, -1);
    if (s.length === 20) return { nano: parseSecNano, ms: parseSecMs };
    if (s.charCodeAt(19) === 0x2e && frac.length >= 1 && frac.length <= 9) {
      let f = 0;
      for (let i = 0; i < frac.length; i++) {
        const d = frac.charCodeAt(i) - 0x30;
        if (d < 0 || d > 9) return slowParse(s);
        f = f * 10 + d;
      }
      f *= POW10[9 - frac.length]!;
      return { nano: parseSecNano + BigInt(f), ms: parseSecMs + Math.floor(f / 1_000_000) };
    }
  }
  return slowParse(s);
}

function slowParse(s: string): { nano: bigint; ms: number } | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  let ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return undefined;
  if (m[8]) {
    parsePrefix = s.slice(0, 19);
    parseSecMs = ms;
    parseSecNano = BigInt(ms) * 1_000_000n;
  } else {
    const off = (+m[10]! * 60 + +m[11]!) * 60_000;
    ms = m[9] === '+' ? ms - off : ms + off;
  }
  const digits = (m[7] ?? '').padEnd(9, '0');
  return { nano: BigInt(ms) * 1_000_000n + BigInt(digits), ms: ms + Number(digits.slice(0, 3)) };
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
