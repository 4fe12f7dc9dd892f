import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogLineBatch } from '../kernel/contracts/log-driver.js';
import { criScanner, type CriScanner } from './cri-scan-wasm.js';
import { growLineBatch, pushLine } from './log-line-batch.js';
import { TimeTextCache } from './time-text-cache.js';

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

/** The CRI time field's cache (lib/time-text-cache.ts): lines of one read of the process's pipe carry the same text. */
export class CriTimeCache extends TimeTextCache {
  constructor() {
    super(parseRfc3339Nano);
  }
}

const STDOUT = Buffer.from('stdout ');
const STDERR = Buffer.from('stderr ');

/**
 * Every complete CRI line of `buf[0, len)` into `batch` (whose `data` is
 * `buf`), as offsets: no Buffer, string or object per line. Malformed lines
 * are skipped, as splitCriLine rejects them. A line whose header (time,
 * stream, tag and the separator after it) is byte for byte the previous
 * line's — most lines of one read of the process's pipe — is taken without
 * parsing it again: runs of them by the WebAssembly scanner
 * (lib/cri-scan-wasm.ts) where there is one, else line by line here.
 * Returns the offset just after the last complete line.
 */
export function scanCriLines(buf: Buffer, len: number, batch: LogLineBatch, cache: CriTimeCache): number {
  const wasm = len >= WASM_MIN_BYTES ? criScanner() : null;
  return wasm && len <= WASM_MAX_BYTES ? scanWithWasm(buf, len, batch, cache, wasm) : scanCriLinesJs(buf, len, batch, cache);
}

/** Below this, copying a read into the scanner's memory is not worth it; above, it grows the memory for good. */
const WASM_MIN_BYTES = 4096;
const WASM_MAX_BYTES = 8 << 20;
const DATA = 16;
const PAGE = 65536;

/** scanCriLines with the same-header runs taken by the WebAssembly scanner (same batch as scanCriLinesJs). */
function scanWithWasm(buf: Buffer, len: number, batch: LogLineBatch, cache: CriTimeCache, wasm: CriScanner): number {
  // A line with a header is at least `<20-byte time> stdout F \n` (31 bytes): room for len / 31 of them.
  const maxLines = Math.floor(len / 31) + 1;
  const startsAt = (DATA + len + 16 + 3) & ~3;
  const endsAt = startsAt + maxLines * 4;
  const need = endsAt + maxLines * 4;
  const { memory } = wasm;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
  const mem = Buffer.from(memory.buffer);
  buf.copy(mem, DATA, 0, len);
  mem.fill(0, DATA + len, DATA + len + 16);
  const u32 = new Uint32Array(memory.buffer);
  let from = 0;
  const st = newScanState();
  const view = len === buf.length ? buf : buf.subarray(0, len);
  for (;;) {
    if (st.prevStart >= 0 && st.prevHeader >= 16) {
      const n = wasm.scan(DATA + from, DATA + len, DATA + st.prevStart, st.prevHeader, startsAt, endsAt, maxLines);
      if (n > 0) {
        appendRun(batch, u32, startsAt >>> 2, endsAt >>> 2, n, st.prevFlags);
        from = u32[0]! - DATA;
      }
    }
    const nl = view.indexOf(0x0a, from);
    if (nl < 0) break;
    takeLine(buf, from, nl, batch, cache, st);
    from = nl + 1;
  }
  return from;
}

/** What a scan carries from one line to the next. */
interface ScanState {
  /** The time cache's generation whose time the batch holds last. */
  gen: number;
  /** The previous line, when a following line may share its header (-1 when not), its header length and flags. */
  prevStart: number;
  prevHeader: number;
  prevFlags: number;
}

function newScanState(): ScanState {
  return { gen: -1, prevStart: -1, prevHeader: 0, prevFlags: 0 };
}

/**
 * Parses line [lineStart, nl) as `<time> <stream> <F|P> <bytes>` and adds
 * it to the batch, remembering its header for the lines after it; a line
 * that is not one is skipped, as splitCriLine rejects it.
 */
function takeLine(buf: Buffer, lineStart: number, nl: number, batch: LogLineBatch, cache: CriTimeCache, st: ScanState): void {
  st.prevStart = -1;
  // The time ends at the first space.
  let s1 = lineStart;
  while (s1 < nl && buf[s1] !== 0x20) s1++;
  if (s1 + 9 > nl) return;
  let flags: number;
  if (matches(buf, s1 + 1, STDOUT)) flags = 0;
  else if (matches(buf, s1 + 1, STDERR)) flags = LOG_LINE_STDERR;
  else return;
  const tag = buf[s1 + 8];
  if (tag === 0x50) flags |= LOG_LINE_PARTIAL;
  else if (tag !== 0x46) return;
  cache.parse(buf, lineStart, s1);
  if (cache.nano === undefined) return;
  if (cache.generation !== st.gen || batch.times.length === 0) {
    batch.times.push(cache.nano);
    st.gen = cache.generation;
  }
  // As splitCriLine: the byte after the tag (a space) is not looked at; the body starts after it.
  pushLine(batch, Math.min(nl, s1 + 10), nl, flags, batch.times.length - 1);
  if (s1 + 10 <= nl) {
    st.prevStart = lineStart;
    st.prevHeader = s1 + 10 - lineStart;
    st.prevFlags = flags;
  }
}

/** Appends `n` lines the scanner found (their starts and ends in its memory, as addresses) with one flags value and the newest time. */
function appendRun(batch: LogLineBatch, u32: Uint32Array, starts: number, ends: number, n: number, flags: number): void {
  if (batch.count + n > batch.start.length) growLineBatch(batch, Math.max(batch.count + n, batch.count * 2 + 16));
  const at = batch.count;
  const { start, end } = batch;
  for (let i = 0; i < n; i++) {
    start[at + i] = u32[starts + i]! - DATA;
    end[at + i] = u32[ends + i]! - DATA;
  }
  batch.flags.fill(flags, at, at + n);
  batch.timeIndex.fill(batch.times.length - 1, at, at + n);
  batch.count += n;
}

/** scanCriLines in JavaScript only, line by line (the path where WebAssembly is not available, and the reference the tests hold the other to). */
export function scanCriLinesJs(buf: Buffer, len: number, batch: LogLineBatch, cache: CriTimeCache): number {
  let from = 0;
  const st = newScanState();
  const view = len === buf.length ? buf : buf.subarray(0, len);
  for (let nl = view.indexOf(0x0a, 0); nl >= 0; nl = view.indexOf(0x0a, from)) {
    const lineStart = from;
    from = nl + 1;
    const { prevStart, prevHeader } = st;
    if (prevStart >= 0 && nl - lineStart >= prevHeader) {
      let i = 0;
      while (i < prevHeader && buf[lineStart + i] === buf[prevStart + i]) i++;
      if (i === prevHeader) {
        pushLine(batch, lineStart + prevHeader, nl, st.prevFlags, batch.times.length - 1);
        continue;
      }
    }
    takeLine(buf, lineStart, nl, batch, cache, st);
  }
  return from;
}

function matches(buf: Buffer, at: number, word: Buffer): boolean {
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word[i]) return false;
  return true;
}
