import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogLineBatch } from '../../kernel/index.js';
import { escapeInto, SAFE_BYTE } from './json-log-line.js';
import { formatStamp } from './log-time.js';

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
 * jsonlog format, escaping as Go's encoding/json), into one buffer. Text that
 * needs no escaping (printable ASCII but `"` `\` `<` `>` `&`) is copied
 * while it is checked, in one pass; the first byte that needs escaping sends
 * the line through escapeInto. The fields after `log` are the same for
 * every line of one time and stream: they are encoded once per batch.
 */
export function marshalBatch(batch: LogLineBatch, attrsJson?: string): EncodedLines {
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
