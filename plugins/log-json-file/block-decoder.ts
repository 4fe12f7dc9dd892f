import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogEntry, type LogLineBatch } from '../../kernel/index.js';
import { newLineBatch, pushLine } from '../../lib/log-line-batch.js';
import { JsonLineDecoder } from './json-batch-decode.js';
import { jsonLinePacker, PACK_ROOM, type JsonLinePacker } from './json-pack-wasm.js';
import type { LineBlock } from './log-sources.js';

/** since/until of a read: what to do with a line of time `t`. */
export interface LineGate {
  check(t: bigint): 'emit' | 'skip' | 'stop';
}

/**
 * One read's decoder of blocks of a json-file log into LogLineBatches: the
 * lines through since/until, as batches over the block's bytes (one, unless
 * a line decoded longer than it was stored and comes as its own batch).
 * `stop` once an entry after `until` was met; `seen.last` is the time of the
 * last log record met.
 *
 * With WebAssembly (json-pack-wasm.ts) the lines come `framed` (each after
 * its stdcopy header, back to back) and the batch's arrays are this
 * decoder's own, reused from block to block; without it, each line is
 * decoded in place by JsonLineDecoder.
 */
export class BlockDecoder {
  private readonly dec = new JsonLineDecoder();
  private start = new Uint32Array(0);
  private end = new Uint32Array(0);
  private flags = new Uint8Array(0);
  private timeIndex = new Uint32Array(0);

  constructor(private readonly packer: JsonLinePacker | null = jsonLinePacker()) {}

  decode(block: LineBlock, gate: LineGate, seen: { last?: bigint }): { batches: LogLineBatch[]; stop: boolean } {
    return this.packer ? this.decodePacked(block, this.packer, gate, seen) : decodeInPlace(block, this.dec, gate, seen);
  }

  private decodePacked(block: LineBlock, pk: JsonLinePacker, gate: LineGate, seen: { last?: bigint }): { batches: LogLineBatch[]; stop: boolean } {
    const count = block.count;
    // The block's complete lines (and the newline of the last one, when it has one).
    const len = Math.min(block.data.length, block.end[count - 1]! + 1);
    pk.load(block.data, len, count);
    this.reserve(count);
    const data = pk.data;
    const dec = this.dec;
    const timeIndex = this.timeIndex;
    const batches: LogLineBatch[] = [];
    let times: bigint[] = [];
    let attrs: Array<Record<string, string> | undefined> | undefined;
    let lastGeneration = -1;
    let first = 0; // the open batch's first line slot
    let n = 0; // line slots used
    let out = 0; // where the next packed line goes
    let stop = false;
    const close = () => {
      if (n > first) {
        batches.push({
          data: block.data, count: n - first, times, attrs, framed: true,
          start: this.start.subarray(first, n), end: this.end.subarray(first, n),
          flags: this.flags.subarray(first, n), timeIndex: timeIndex.subarray(first, n),
        });
      }
      first = n;
      times = [];
      attrs = undefined;
      lastGeneration = -1;
      pk.noReference();
    };
    for (let i = 0; i < count;) {
      const k = pk.pack(block.start[i]!, len, out, n);
      if (k > 0) {
        timeIndex.fill(times.length - 1, n, n + k);
        n += k;
        i += k;
        out = pk.out;
        if (i === count) break;
      }
      const s = block.start[i]!;
      const e = block.end[i++]!;
      const kind = dec.decode(data, s, e);
      if (kind === 'skip') continue;
      seen.last = dec.nano;
      const verdict = gate.check(dec.nano);
      if (verdict === 'stop') { stop = true; break; }
      if (verdict === 'skip') { pk.noReference(); continue; }
      const nl = (dec.flags & LOG_LINE_PARTIAL) === 0 ? 1 : 0;
      const size = dec.bodyEnd - dec.bodyStart;
      if (kind === 'entry' || out + PACK_ROOM + size + nl > e + 1) {
        // Longer decoded than stored, or (a line JSON.parse decoded to its start) no room before it: its own batch.
        const entry = kind === 'entry' ? dec.entry! : decodedEntry(dec, data);
        close();
        batches.push(entryBatch(entry));
        continue;
      }
      // The time text is after the text: taken before the text moves over anything.
      if (dec.timeStart >= 0 && !dec.attrs) pk.reference(data, dec.timeStart, dec.timeEnd);
      else pk.noReference();
      const at = out + PACK_ROOM;
      data.copyWithin(at, dec.bodyStart, dec.bodyEnd);
      if (nl) data[at + size] = 0x0a;
      data.writeUInt32LE((dec.flags & LOG_LINE_STDERR) !== 0 ? 2 : 1, out);
      data.writeUInt32BE(size + nl, out + 4);
      pk.starts[n] = at;
      pk.ends[n] = at + size;
      pk.flags[n] = dec.flags;
      if (times.length === 0 || dec.timeGeneration !== lastGeneration) {
        times.push(dec.nano);
        lastGeneration = dec.timeGeneration;
      }
      timeIndex[n] = times.length - 1;
      if (dec.attrs) (attrs ??= [])[n - first] = dec.attrs;
      n++;
      out = at + size + nl;
    }
    close();
    // Out of the packer's memory (the next block, or another reader's, reuses it).
    data.copy(block.data, 0, 0, out);
    this.start.set(pk.starts.subarray(0, n));
    this.end.set(pk.ends.subarray(0, n));
    this.flags.set(pk.flags.subarray(0, n));
    return { batches, stop };
  }

  private reserve(lines: number): void {
    if (this.start.length >= lines) return;
    const size = Math.max(lines, this.start.length * 2);
    this.start = new Uint32Array(size);
    this.end = new Uint32Array(size);
    this.flags = new Uint8Array(size);
    this.timeIndex = new Uint32Array(size);
  }
}

/** The JavaScript path: every line decoded in place by `dec`, a batch of new arrays per block. */
function decodeInPlace(block: LineBlock, dec: JsonLineDecoder, gate: LineGate, seen: { last?: bigint }): { batches: LogLineBatch[]; stop: boolean } {
  const batches: LogLineBatch[] = [];
  let batch = newLineBatch(block.data, block.count);
  let lastGeneration = -1;
  let stop = false;
  for (let i = 0; i < block.count; i++) {
    const kind = dec.decode(block.data, block.start[i]!, block.end[i]!);
    if (kind === 'skip') continue;
    seen.last = dec.nano;
    const verdict = gate.check(dec.nano);
    if (verdict === 'stop') { stop = true; break; }
    if (verdict === 'skip') continue;
    if (kind === 'entry') {
      if (batch.count > 0) batches.push(batch);
      batches.push(entryBatch(dec.entry!));
      batch = newLineBatch(block.data, block.count - i);
      lastGeneration = -1;
      continue;
    }
    if (batch.times.length === 0 || dec.timeGeneration !== lastGeneration) {
      batch.times.push(dec.nano);
      lastGeneration = dec.timeGeneration;
    }
    pushLine(batch, dec.bodyStart, dec.bodyEnd, dec.flags, batch.times.length - 1);
    if (dec.attrs) (batch.attrs ??= [])[batch.count - 1] = dec.attrs;
  }
  if (batch.count > 0) batches.push(batch);
  return { batches, stop };
}

/** The line `dec` just decoded as an entry with its own bytes. */
function decodedEntry(dec: JsonLineDecoder, data: Buffer): LogEntry {
  const e: LogEntry = {
    stream: (dec.flags & LOG_LINE_STDERR) !== 0 ? 'stderr' : 'stdout',
    line: Buffer.from(data.subarray(dec.bodyStart, dec.bodyEnd)),
    time: new Date(Number(dec.nano / 1_000_000n)),
    timeNano: dec.nano,
  };
  if ((dec.flags & LOG_LINE_PARTIAL) !== 0) e.partial = true;
  if (dec.attrs) e.attrs = dec.attrs;
  return e;
}

/** One entry as a batch of its own. */
function entryBatch(e: LogEntry): LogLineBatch {
  const b = newLineBatch(e.line, 1);
  b.times.push(e.timeNano!);
  pushLine(b, 0, e.line.length, (e.stream === 'stderr' ? LOG_LINE_STDERR : 0) | (e.partial ? LOG_LINE_PARTIAL : 0), 0);
  if (e.attrs) b.attrs = [e.attrs];
  return b;
}
