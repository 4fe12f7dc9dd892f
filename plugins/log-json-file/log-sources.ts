import type { FileHandle } from 'node:fs/promises';
import { compressedLastTime, decompressLogFile } from './gzip-extra.js';

const BLOCK = 64 * 1024;
const SCAN_BLOCK = 512 * 1024;

/**
 * One file of a container's log as a reader sees it: the current file or a
 * rotated one, plain or gzipped. Sources read by position, so a file renamed
 * or unlinked by a rotation after it was opened reads on unchanged.
 */
export interface LogSource {
  /** Bytes that can be read now. */
  size(): Promise<number>;
  read(buf: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export class FileSource implements LogSource {
  constructor(readonly fh: FileHandle) {}

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  async read(buf: Buffer, position: number): Promise<number> {
    return (await this.fh.read(buf, 0, buf.length, position)).bytesRead;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

/**
 * A gzipped rotated file, decompressed on first use. When its header says its
 * last entry is older than `since`, it reads as empty (dockerd's
 * compressedFileOpener skip).
 */
export class GzipSource implements LogSource {
  private data: Promise<Buffer> | undefined;

  constructor(private readonly fh: FileHandle, private readonly since?: bigint) {}

  async size(): Promise<number> {
    return (await this.load()).length;
  }

  async read(buf: Buffer, position: number): Promise<number> {
    const data = await this.load();
    return data.copy(buf, 0, Math.min(position, data.length));
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  private load(): Promise<Buffer> {
    this.data ??= (async () => {
      const last = await compressedLastTime(this.fh);
      if (this.since !== undefined && last !== undefined && last < this.since) return Buffer.alloc(0);
      return decompressLogFile(this.fh);
    })();
    return this.data;
  }
}

/**
 * Where the last `n` lines of `src[0, end)` start, and how many lines that is
 * (fewer when the source is shorter), scanning back from the end as dockerd's
 * tailfile does. A final newline ends the last line; it does not start one.
 */
export async function tailStart(src: LogSource, end: number, n: number): Promise<{ start: number; lines: number }> {
  const buf = Buffer.alloc(BLOCK);
  let pos = end;
  let count = 0;
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    const start = pos - len;
    const got = await src.read(buf.subarray(0, len), start);
    for (let i = got - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a || start + i === end - 1) continue;
      if (++count === n) return { start: start + i + 1, lines: n };
    }
    pos = start;
  }
  return { start: 0, lines: end > 0 ? count + 1 : 0 };
}

/** Complete lines of one block of a file: line i is `data[start[i], end[i])`, without its newline. */
export interface LineBlock {
  data: Buffer;
  count: number;
  start: Uint32Array;
  end: Uint32Array;
}

/**
 * Reads lines forward from a source, a block at a time (one await per 512 KiB,
 * not per line), as offsets into the block. `consumed` is the position just
 * after the last complete line returned: a follow resumes there, so a line
 * that was only half written when read is read again whole.
 */
export class LineScanner {
  consumed = 0;

  /**
   * The lines between `start` and `end`, or the end of the file when `end`
   * is undefined, a block at a time. With `final`, a trailing piece without a
   * newline is returned as a line too (a finished file). A block (its bytes
   * too: a reader may decode lines in place) is valid until the next one is
   * asked for.
   */
  async *blocks(src: LogSource, start: number, end: number | undefined, final: boolean): AsyncGenerator<LineBlock> {
    // Bigger than the tail scan's block: a big log is read in fewer reads, each one an await and a syscall.
    let buf = Buffer.allocUnsafe(SCAN_BLOCK);
    let pos = start;
    let carried = 0;
    let starts: Uint32Array = new Uint32Array(4096);
    let ends: Uint32Array = new Uint32Array(4096);
    this.consumed = start;
    for (;;) {
      const want = end === undefined ? SCAN_BLOCK : Math.min(SCAN_BLOCK, end - pos);
      if (want <= 0) break;
      // The torn line the last block ended with stays at the front; the read goes after it.
      if (carried + want > buf.length) {
        const next = Buffer.allocUnsafe(carried + SCAN_BLOCK);
        buf.copy(next, 0, 0, carried);
        buf = next;
      }
      const got = await src.read(buf.subarray(carried, carried + want), pos);
      if (got === 0) break;
      const chunkStart = pos - carried;
      const len = carried + got;
      pos += got;
      const view = buf.subarray(0, len);
      let count = 0;
      let from = 0;
      for (let nl = view.indexOf(0x0a, carried); nl >= 0; nl = view.indexOf(0x0a, from)) {
        if (count === starts.length) [starts, ends] = [grow(starts, count), grow(ends, count)];
        starts[count] = from;
        ends[count++] = nl;
        from = nl + 1;
      }
      if (count > 0) {
        this.consumed = chunkStart + from;
        yield { data: view, count, start: starts, end: ends };
        // Whatever the reader did to the block, the torn tail after its last line is untouched: move it to the front.
        buf.copy(buf, 0, from, len);
      }
      carried = len - from;
    }
    if (final && carried > 0) {
      this.consumed = pos;
      starts[0] = 0;
      ends[0] = carried;
      yield { data: buf.subarray(0, carried), count: 1, start: starts, end: ends };
    }
  }
}

function grow(a: Uint32Array, used: number): Uint32Array {
  const next = new Uint32Array(a.length * 2);
  next.set(a.subarray(0, used));
  return next;
}
