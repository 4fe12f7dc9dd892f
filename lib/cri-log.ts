/**
 * The CRI (k8s-file) log line, the format of an exec driver's output spool
 * (kernel/contracts/exec-driver.ts `OutputSpool`):
 *   `<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>\n`
 * `F` lines end a line of the process's output; `P` lines are a chunk of a
 * longer one (the monitor added the newline, not the process). The exec
 * driver reads spools to feed attached streams, the container service to
 * feed the log driver; both parse with this.
 */
export interface CriFields {
  /** The time as written (RFC 3339 with up to 9 fractional digits). */
  timeText: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  /** The process's bytes without the spool's newline: a view into the line. */
  body: Buffer;
}

/** Parses one line (without its final "\n"); undefined when it is not a CRI line. */
export function splitCriLine(line: Buffer): CriFields | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0 || line.length < s2 + 2) return undefined;
  const stream = line.toString('latin1', s1 + 1, s2);
  const tag = line[s2 + 1];
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 0x46 && tag !== 0x50)) return undefined;
  return { timeText: line.toString('latin1', 0, s1), stream, partial: tag === 0x50, body: line.subarray(Math.min(line.length, s2 + 3)) };
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

/** RFC 3339 with up to nine fractional digits and a Z or ±hh:mm offset, as Unix nanoseconds. */
export function parseRfc3339Nano(s: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const secs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secs)) return undefined;
  return BigInt(secs) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
