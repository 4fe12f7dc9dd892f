import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogLineBatch } from '../../kernel/index.js';
import { escapeInto, SAFE_BYTE } from './json-log-line.js';
import { formatStamp } from './log-time.js';
import { lineEncoder, type LineEncoder } from './json-line-wasm.js';

/** A batch encoded in dockerd's json-file format: one buffer, and where each line of it ends. */
export interface EncodedLines {
  data: Buffer;
  /** `data[ends[i-1], ends[i])` is line i with its newline. */
  ends: Uint32Array;
  count: number;
}

const LOG_OPEN = Buffer.from('{"log":"');

/**
 * Every line of a batch as marshalEntry writes it (the same bytes: dockerd's
 * jsonlog format, escaping as Go's encoding/json), into one buffer. Plain
 * lines are written by the SIMD line encoder (json-line-wasm.ts) where
 * WebAssembly has it, else by marshalBatchJs; a line that needs escaping
 * goes through escapeInto either way. The fields after `log` are the same
 * for every line of one time and stream: they are encoded once per batch.
 */
export function marshalBatch(batch: LogLineBatch, attrsJson?: string, alloc: (size: number) => Buffer = Buffer.allocUnsafe): EncodedLines {
  const enc = batch.count > 0 ? lineEncoder() : null;
  return enc ? marshalBatchWasm(batch, attrsJson, enc, alloc) : marshalBatchJs(batch, attrsJson);
}

/** The tail of line i (the fields after `log`, and the newline), and its key (same key, same bytes). */
function tailKey(batch: LogLineBatch, i: number): number {
  const f = batch.flags[i]!;
  const hasLog = batch.end[i]! > batch.start[i]! || (f & LOG_LINE_PARTIAL) === 0;
  return batch.timeIndex[i]! * 8 + (f & LOG_LINE_STDERR) * 2 + (hasLog ? 1 : 0);
}

function tailBytes(batch: LogLineBatch, i: number, attrsJson: string | undefined): Buffer {
  const f = batch.flags[i]!;
  const hasLog = batch.end[i]! > batch.start[i]! || (f & LOG_LINE_PARTIAL) === 0;
  const stream = (f & LOG_LINE_STDERR) !== 0 ? 'stderr' : 'stdout';
  return Buffer.from(`${hasLog ? ',' : ''}"stream":"${stream}"${attrsJson ? `,"attrs":${attrsJson}` : ''},"time":"${formatStamp(batch.times[batch.timeIndex[i]!]!)}"}\n`);
}

/** A batch bigger than this (bytes the encoder's memory would need) is encoded in JavaScript: wasm memory never shrinks. */
const WASM_MAX_BYTES = 16 << 20;
const PAGE = 65536;

/**
 * marshalBatch with the SIMD line encoder. Its memory holds, per batch: the
 * batch's tails, a copy of the bytes its lines span, then the encoded lines,
 * which are copied out into the buffer returned (one copy per batch), which
 * `alloc` gives (the log writer's reused room, see LogFileWriter.room).
 */
function marshalBatchWasm(batch: LogLineBatch, attrsJson: string | undefined, enc: LineEncoder, alloc: (size: number) => Buffer): EncodedLines {
  const { data, start, end, flags, count } = batch;
  let lo = 0x7fffffff;
  let hi = 0;
  let bodies = 0;
  const tails = new Map<number, Buffer>();
  let tailsBytes = 0;
  let maxTail = 0;
  let lastKey = -1;
  for (let i = 0; i < count; i++) {
    const s = start[i]!;
    const e = end[i]!;
    if (s < lo) lo = s;
    if (e > hi) hi = e;
    bodies += e - s;
    const key = tailKey(batch, i);
    if (key !== lastKey && !tails.has(key)) {
      const t = tailBytes(batch, i, attrsJson);
      tails.set(key, t);
      tailsBytes += t.length;
      if (t.length > maxTail) maxTail = t.length;
    }
    lastKey = key;
  }
  const regionAt = tailsBytes;
  const outAt = regionAt + (hi - lo);
  // Room for every line written plainly; a line that needs escaping makes its own room.
  const need = outAt + bodies + count * (11 + maxTail) + 64;
  if (need > WASM_MAX_BYTES) return marshalBatchJs(batch, attrsJson);
  const { memory, line } = enc;
  if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
  let mem = Buffer.from(memory.buffer);
  const at = new Map<number, number>();
  let p = 0;
  for (const [key, t] of tails) {
    t.copy(mem, p);
    at.set(key, p);
    p += t.length;
  }
  data.copy(mem, regionAt, lo, hi);
  const ends = new Uint32Array(count);
  let o = outAt;
  lastKey = -1;
  let tailAt = 0;
  let tailLen = 0;
  for (let i = 0; i < count; i++) {
    const s = start[i]!;
    const e = end[i]!;
    const f = flags[i]!;
    const partial = (f & LOG_LINE_PARTIAL) !== 0;
    const key = tailKey(batch, i);
    if (key !== lastKey) {
      tailAt = at.get(key)!;
      tailLen = tails.get(key)!.length;
      lastKey = key;
    }
    if (e === s && partial) {
      // No log field: `{` and the tail.
      mem[o++] = 0x7b;
      mem.copyWithin(o, tailAt, tailAt + tailLen);
      o += tailLen;
    } else {
      const r = line(o, regionAt + s - lo, e - s, tailAt, tailLen, partial ? 0 : 1);
      if (r >= 0) {
        o = r;
      } else {
        const worst = o + (e - s) * 6 + tailLen + 16;
        if (worst > WASM_MAX_BYTES) return marshalBatchJs(batch, attrsJson);
        if (worst > mem.length) {
          memory.grow(Math.ceil((worst - mem.length) / PAGE));
          mem = Buffer.from(memory.buffer);
        }
        for (let k = 0; k < 7; k++) mem[o + k] = LOG_OPEN[k]!;
        o = escapeInto(data.subarray(s, e), mem, o + 7, !partial);
        mem.copyWithin(o, tailAt, tailAt + tailLen);
        o += tailLen;
      }
    }
    ends[i] = o - outAt;
    // The next line written plainly must fit (lines escaped before it took more than planned).
    if (i + 1 < count && o + end[i + 1]! - start[i + 1]! + 11 + maxTail > mem.length) {
      memory.grow(Math.ceil((o + end[i + 1]! - start[i + 1]! + 11 + maxTail - mem.length) / PAGE) + 1);
      mem = Buffer.from(memory.buffer);
    }
  }
  const out = alloc(o - outAt);
  mem.copy(out, 0, outAt, o);
  return { data: out, ends, count };
}

/**
 * marshalBatch in JavaScript. Text that needs no escaping (printable ASCII
 * but `"` `\` `<` `>` `&`) is copied while it is checked, in one pass; the
 * first byte that needs escaping sends the line through escapeInto.
 */
export function marshalBatchJs(batch: LogLineBatch, attrsJson?: string): EncodedLines {
  const { data, start, end, flags, timeIndex, count } = batch;
  const tails = new Map<number, Buffer>();
  let bodies = 0;
  for (let i = 0; i < count; i++) bodies += end[i]! - start[i]!;
  let out = Buffer.allocUnsafe(bodies + count * 64 + 4096);
  const ends = new Uint32Array(count);
  let o = 0;
  let lastKey = -1;
  let lastTail: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const s = start[i]!;
    const e = end[i]!;
    const f = flags[i]!;
    const partial = (f & LOG_LINE_PARTIAL) !== 0;
    const hasLog = e > s || !partial;
    const key = timeIndex[i]! * 8 + (f & LOG_LINE_STDERR) * 2 + (hasLog ? 1 : 0);
    let tail = key === lastKey ? lastTail : tails.get(key);
    if (tail === undefined) {
      const stream = (f & LOG_LINE_STDERR) !== 0 ? 'stderr' : 'stdout';
      tail = Buffer.from(`${hasLog ? ',' : ''}"stream":"${stream}"${attrsJson ? `,"attrs":${attrsJson}` : ''},"time":"${formatStamp(batch.times[timeIndex[i]!]!)}"}\n`);
      tails.set(key, tail);
    }
    lastKey = key;
    lastTail = tail;
    const worst = (e - s) * 6 + tail.length + 16;
    if (o + worst > out.length) {
      const next = Buffer.allocUnsafe(Math.max(out.length * 2, o + worst + 4096));
      out.copy(next, 0, 0, o);
      out = next;
    }
    if (!hasLog) {
      out[o++] = 0x7b; // {
    } else {
      const lineStart = o;
      for (let k = 0; k < 8; k++) out[o + k] = LOG_OPEN[k]!;
      o += 8;
      let j = s;
      // Copy while checking; stop at the first byte that needs escaping.
      for (; j < e; j++) {
        const b = data[j]!;
        if (SAFE_BYTE[b] !== 1) break;
        out[o++] = b;
      }
      if (j < e) {
        o = escapeInto(data.subarray(s, e), out, lineStart + 7, !partial);
      } else {
        if (!partial) { out[o++] = 0x5c; out[o++] = 0x6e; } // \n
        out[o++] = 0x22;
      }
    }
    for (let k = 0; k < tail.length; k++) out[o + k] = tail[k]!;
    o += tail.length;
    ends[i] = o;
  }
  return { data: out.subarray(0, o), ends, count };
}
