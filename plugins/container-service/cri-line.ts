/**
 * One line of an exec driver's output spool in the CRI (k8s-file) format:
 * `<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>`. The container service
 * reads spools itself (the exec driver only names the file), to feed the log
 * driver and attached clients from one reader.
 */
export interface CriLine {
  stream: 'stdout' | 'stderr';
  /** The bytes without a newline: a view into `line`, copy it to keep it past the caller's buffer. */
  bytes: Buffer;
  /** `P`: a chunk of a longer line; the process wrote no newline after it (yet). */
  partial: boolean;
  /** When the monitor read it, in Unix nanoseconds. */
  timeNano: bigint;
}

export function parseCriLine(line: Buffer): CriLine | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0 || line.length < s2 + 2) return undefined;
  const stream = line.toString('latin1', s1 + 1, s2);
  const tag = line[s2 + 1];
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 0x46 && tag !== 0x50)) return undefined;
  const timeNano = cachedTime(line.toString('latin1', 0, s1));
  if (timeNano === undefined) return undefined;
  return { stream, partial: tag === 0x50, bytes: line.subarray(Math.min(line.length, s2 + 3)), timeNano };
}

// Lines read together carry the same stamp: parse each distinct one once.
let lastTimeText = '';
let lastTimeNano: bigint | undefined;
function cachedTime(text: string): bigint | undefined {
  if (text !== lastTimeText) {
    lastTimeText = text;
    lastTimeNano = parseRfc3339Nano(text);
  }
  return lastTimeNano;
}

/** RFC 3339 with up to nine fractional digits and a Z or ±hh:mm offset, as Unix nanoseconds. */
export function parseRfc3339Nano(s: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const secs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secs)) return undefined;
  return BigInt(secs) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Splits a chunk into complete lines; the incomplete tail is kept for the next chunk. */
export function splitLines(carry: Buffer, chunk: Buffer): { lines: Buffer[]; rest: Buffer } {
  const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  return { lines, rest: Buffer.from(buf.subarray(start)) };
}
