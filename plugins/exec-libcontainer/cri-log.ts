/** One line of a CRI (k8s-file) log as conmon writes it. */
export interface CriRecord {
  /** RFC 3339 with nanoseconds and the host's UTC offset, as written. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** The process's bytes: with the trailing "\n" for a full line, without it for a partial one. */
  data: Buffer;
  partial: boolean;
}

/**
 * Parses `<time> <stream> <F|P> <bytes>` (the line without its final "\n").
 * `F` lines had their newline in the process output; conmon adds the newline
 * after `P` lines itself, so it is not part of the data. Returns undefined for
 * a malformed line.
 */
export function parseCriLine(line: Buffer): CriRecord | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  if (s2 < 0 || line.length < s2 + 2) return undefined;
  const stream = line.toString('latin1', s1 + 1, s2);
  const tag = line[s2 + 1];
  if ((stream !== 'stdout' && stream !== 'stderr') || (tag !== 0x46 && tag !== 0x50)) return undefined;
  const partial = tag === 0x50;
  const body = line.subarray(Math.min(line.length, s2 + 3));
  return {
    time: line.toString('latin1', 0, s1),
    stream,
    partial,
    data: partial ? Buffer.from(body) : Buffer.concat([body, Buffer.from('\n')]),
  };
}

/** Splits a chunk into complete lines; the incomplete tail is returned for the next read. */
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
