import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TarHeader } from './tar-types.js';
import { BLOCK, INVALID_HEADER, TarParseError, checksumOk, cString, isZeroBlock, numeric, padding, parsePax } from './tar-header.js';

export { TarParseError } from './tar-header.js';

/**
 * A synchronous, push-style tar reader for the layer applier.
 *
 * Why not tar-stream's extract: it hands every entry over as its own stream
 * and costs several promise round trips per entry, which for layers of
 * thousands of small files was a large part of the unpacking time. This
 * reader walks the bytes it is given and calls the handler directly; only a
 * handler that has to wait (returns a promise) pauses it.
 *
 * Format, as Go's archive/tar reads it (dockerd is the oracle): ustar, GNU
 * and V7 headers, checksum as unsigned or signed byte sum, numbers in octal
 * or base-256, the ustar name prefix, GNU long names and long link names
 * (`L`, `K`), PAX records (`x`: path, linkpath, size, uid, gid, mtime and the
 * rest kept in `pax` for xattrs). Global PAX headers (`g`) are skipped, as
 * moby's archive package ignores them. Two zero blocks end the archive; what
 * follows is not read. An entry whose data ends early is `unexpected EOF`.
 */
export interface TarEntryHandler {
  /** A complete header. A promise pauses the reader until it settles. */
  entry(h: TarHeader): void | Promise<void>;
  /** A piece of the current regular file's data, in order (never empty). */
  data(piece: Buffer): void;
  /** The current regular file's data is complete (called for empty files too). */
  end(): void;
}

export class TarParser {
  private readonly header = Buffer.alloc(BLOCK);
  private headerLen = 0;
  /** Bytes of entry data still to come, then padding to skip. */
  private remaining = 0;
  private pad = 0;
  /** What the current data is: a file for the handler, a long name / PAX block to keep, or bytes to skip. */
  private sink: 'file' | 'meta' | 'skip' = 'skip';
  private metaType = '';
  private meta: Buffer[] = [];
  private pax: Record<string, string> | null = null;
  private longName: string | null = null;
  private longLink: string | null = null;
  private zeroBlocks = 0;
  private ended = false;

  constructor(private readonly handler: TarEntryHandler) {}

  /** True once the end-of-archive marker was read. */
  get done(): boolean {
    return this.ended;
  }

  /** Feeds bytes; returns a promise only when the handler asked to wait. */
  push(chunk: Buffer): void | Promise<void> {
    let off = 0;
    while (off < chunk.length && !this.ended) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - off);
        const piece = chunk.subarray(off, off + take);
        off += take;
        this.remaining -= take;
        if (this.sink === 'file') this.handler.data(piece);
        else if (this.sink === 'meta') this.meta.push(piece);
        if (this.remaining === 0) this.endData();
        continue;
      }
      if (this.pad > 0) {
        const take = Math.min(this.pad, chunk.length - off);
        off += take;
        this.pad -= take;
        continue;
      }
      const take = Math.min(BLOCK - this.headerLen, chunk.length - off);
      chunk.copy(this.header, this.headerLen, off, off + take);
      this.headerLen += take;
      off += take;
      if (this.headerLen < BLOCK) break;
      this.headerLen = 0;
      const wait = this.onHeader(this.header);
      if (wait) {
        const rest = chunk.subarray(off);
        return wait.then(() => this.push(rest));
      }
    }
  }

  /** The input ended: anything but a clean end (or an empty input) is a truncated archive. */
  finish(): void {
    if (this.ended) return;
    const pendingMeta = this.pax !== null || this.longName !== null || this.longLink !== null;
    if (this.remaining > 0 || this.pad > 0 || this.headerLen > 0 || pendingMeta) throw new TarParseError('unexpected EOF');
    this.ended = true; // no end marker, or one zero block only: Go's reader takes that as the end too
  }

  private onHeader(block: Buffer): void | Promise<void> {
    if (isZeroBlock(block)) {
      if (++this.zeroBlocks >= 2) this.ended = true;
      return;
    }
    if (this.zeroBlocks > 0 || !checksumOk(block)) throw new TarParseError(INVALID_HEADER);
    const flag = block[156] === 0 ? '\0' : String.fromCharCode(block[156]!);
    const size = numeric(block, 124, 12);
    if (size === null || size < 0) throw new TarParseError(INVALID_HEADER);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      this.sink = flag === 'g' ? 'skip' : 'meta';
      this.metaType = flag;
      this.meta = [];
      this.startData(size);
      return;
    }
    const h = this.decode(block, flag, size);
    this.sink = h.type === 'file' || h.type === 'contiguous-file' ? 'file' : 'skip';
    this.startData(h.size ?? 0);
    const wait = this.handler.entry(h);
    // An empty file is complete at once; the handler may still be waiting on its header.
    if (this.sink === 'file' && this.remaining === 0) {
      if (wait) return wait.then(() => this.handler.end());
      this.handler.end();
    }
    return wait;
  }

  private startData(size: number): void {
    this.remaining = size;
    this.pad = padding(size);
    if (size === 0 && this.sink === 'meta') this.endData();
  }

  private endData(): void {
    if (this.sink === 'file') {
      this.handler.end();
      return;
    }
    if (this.sink !== 'meta') return;
    const data = Buffer.concat(this.meta);
    this.meta = [];
    if (this.metaType === 'x') this.pax = { ...this.pax, ...parsePax(data) };
    else if (this.metaType === 'L') this.longName = cString(data, 0, data.length);
    else this.longLink = cString(data, 0, data.length);
    this.sink = 'skip';
  }

  private decode(block: Buffer, flag: string, headerSize: number): TarHeader {
    const magic = block.toString('latin1', 257, 263);
    let name = cString(block, 0, 100);
    if (magic === 'ustar\0' && block[345] !== 0) name = `${cString(block, 345, 155)}/${name}`;
    let type = TYPES[flag] ?? null;
    if (flag === '\0' && name.endsWith('/')) type = 'directory'; // V7 tar marked directories by the name alone
    const h: TarHeader = {
      name,
      type,
      mode: numericOrFail(block, 100, 8),
      uid: numericOrFail(block, 108, 8),
      gid: numericOrFail(block, 116, 8),
      size: headerSize,
      mtime: new Date(numericOrFail(block, 136, 12) * 1000),
      linkname: block[157] === 0 ? null : cString(block, 157, 100),
      devmajor: numeric(block, 329, 8) ?? 0,
      devminor: numeric(block, 337, 8) ?? 0,
      pax: null,
    };
    if (this.longName !== null) h.name = this.longName;
    if (this.longLink !== null) h.linkname = this.longLink;
    const pax = this.pax;
    if (pax) {
      if (pax.path !== undefined) h.name = pax.path;
      if (pax.linkpath !== undefined) h.linkname = pax.linkpath;
      if (pax.size !== undefined) h.size = paxInt(pax.size);
      if (pax.uid !== undefined) h.uid = paxInt(pax.uid);
      if (pax.gid !== undefined) h.gid = paxInt(pax.gid);
      if (pax.mtime !== undefined) {
        const t = Number(pax.mtime);
        if (!Number.isFinite(t)) throw new TarParseError(INVALID_HEADER);
        h.mtime = new Date(t * 1000);
      }
      h.pax = pax;
    }
    this.pax = this.longName = this.longLink = null;
    return h;
  }
}

const TYPES: Record<string, TarHeader['type']> = {
  '\0': 'file', 0: 'file', 1: 'link', 2: 'symlink', 3: 'character-device', 4: 'block-device', 5: 'directory', 6: 'fifo', 7: 'contiguous-file',
};

function numericOrFail(block: Buffer, off: number, len: number): number {
  const n = numeric(block, off, len);
  if (n === null) throw new TarParseError(INVALID_HEADER);
  return n;
}

function paxInt(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new TarParseError(INVALID_HEADER);
  return Number(v);
}

/**
 * Reads the tar stream `input` to its end through `handler`, with back
 * pressure: a handler that returns a promise holds the input until it
 * settles. Rejects with the first error of the input, the format or the
 * handler, the input destroyed.
 */
export async function parseTarStream(input: Readable, handler: TarEntryHandler): Promise<void> {
  const parser = new TarParser(handler);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      let wait: void | Promise<void>;
      try {
        wait = parser.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (wait) wait.then(() => cb(), cb);
      else cb();
    },
    final(cb) {
      try {
        parser.finish();
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  try {
    await pipeline(input, sink);
  } catch (err) {
    input.destroy();
    throw err;
  }
}
