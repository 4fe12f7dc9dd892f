import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogEntry, type LogLineBatch } from '../kernel/contracts/log-driver.js';

/** An empty batch over `data` with room for `capacity` lines (its arrays are the batch's own). */
export function newLineBatch(data: Buffer, capacity: number): LogLineBatch {
  return {
    data,
    count: 0,
    start: new Uint32Array(capacity),
    end: new Uint32Array(capacity),
    flags: new Uint8Array(capacity),
    timeIndex: new Uint32Array(capacity),
    times: [],
  };
}

/**
 * `b` emptied to take the lines of `data`, its arrays kept: a reader that
 * makes a batch per read (the output pump, ~1,000 reads per 50 MB) would
 * otherwise allocate ~50 KB of typed arrays each time, memory outside the
 * JavaScript heap whose volume sets how often V8 runs a full GC.
 */
export function resetLineBatch(b: LogLineBatch, data: Buffer): LogLineBatch {
  b.data = data;
  b.count = 0;
  b.times = []; // a new one: a logger may have kept the last (json-file keeps it for the lines' times)
  if (b.attrs) b.attrs = undefined;
  return b;
}

/** Appends one line; the arrays grow when full. */
export function pushLine(b: LogLineBatch, start: number, end: number, flags: number, timeIndex: number): void {
  if (b.count === b.start.length) growLineBatch(b, b.count * 2 + 16);
  const i = b.count++;
  b.start[i] = start;
  b.end[i] = end;
  b.flags[i] = flags;
  b.timeIndex[i] = timeIndex;
}

/** Gives the batch's arrays room for `capacity` lines, keeping its lines. */
export function growLineBatch(b: LogLineBatch, capacity: number): void {
  const grow = <T extends Uint32Array | Uint8Array>(a: T, make: new (n: number) => T): T => {
    const next = new make(capacity);
    next.set(a.subarray(0, b.count));
    return next;
  };
  b.start = grow(b.start, Uint32Array);
  b.end = grow(b.end, Uint32Array);
  b.flags = grow(b.flags, Uint8Array);
  b.timeIndex = grow(b.timeIndex, Uint32Array);
}

/** Line `i` of a batch as an entry; `copy` makes its bytes its own (else a view into the batch's buffer). */
export function lineEntry(b: LogLineBatch, i: number, copy: boolean): LogEntry {
  const view = b.data.subarray(b.start[i], b.end[i]);
  const timeNano = b.times[b.timeIndex[i]!]!;
  const entry: LogEntry = {
    stream: (b.flags[i]! & LOG_LINE_STDERR) !== 0 ? 'stderr' : 'stdout',
    line: copy ? Buffer.from(view) : view,
    time: new Date(Number(timeNano / 1_000_000n)),
    timeNano,
  };
  if ((b.flags[i]! & LOG_LINE_PARTIAL) !== 0) entry.partial = true;
  const attrs = b.attrs?.[i];
  if (attrs) entry.attrs = attrs;
  return entry;
}

/** Entries of a batched read, each with its own bytes (they outlive the batch). */
export async function* batchEntries(batches: AsyncIterable<LogLineBatch>): AsyncGenerator<LogEntry> {
  for await (const b of batches) {
    for (let i = 0; i < b.count; i++) yield lineEntry(b, i, true);
  }
}
