import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { InvalidParameterError, SystemError } from '../../kernel/index.js';
import { cleanEntryName as cleanRelative, resolveInRoot } from '../graph-common/scoped-path.js';
import { BLOCK, INVALID_HEADER, TarParseError, checksumOk, cString, isZeroBlock, padding, parsePax, rawHeader } from '../graph-common/tar-header.js';

/**
 * tar-split, as dockerd keeps it in `layerdb/sha256/<chain>/tar-split.json.gz`:
 * a layer's tar stream minus the file contents. Headers, padding and
 * everything else are kept verbatim; regular-file data is replaced by a
 * reference to the unpacked file. Reassembled from the unpacked layer, the
 * stream is byte-identical to what was imported, so `docker save` writes
 * layers whose digests equal the image's diff IDs without storing every
 * layer twice.
 *
 * Entries are JSON lines, as vbatts/tar-split writes them:
 *   {"type":1,"name":"etc/passwd","size":1234}   file data, read back from disk
 *   {"type":2,"payload":"<base64>"}              verbatim bytes
 */
interface FileEntry { type: 1; name: string; size: number }
interface SegmentEntry { type: 2; payload: string }
type SplitEntry = FileEntry | SegmentEntry;

const MAX_META = 1 << 20;
const MAX_SEGMENT = 1 << 20;
/** JSON lines are handed to gzip in batches of about this many characters: one write per entry cost more than the compression. */
const RECORD_BATCH = 256 << 10;

/**
 * A pass-through that hashes the uncompressed layer (its diff ID), counts
 * it, and records the tar-split entries to a gzip file. It also checks the
 * tar framing as Go's archive/tar does, failing with dockerd's messages
 * (`archive/tar: invalid tar header`, `unexpected EOF`) instead of letting
 * a truncated or corrupt stream reach the graph driver as an internal error.
 */
export class TarSplitter extends Transform {
  private readonly hash = createHash('sha256');
  private readonly gz = createGzip();
  private done: Promise<void> = Promise.resolve();
  private bytes = 0;
  private state: 'header' | 'data' | 'pad' | 'eof' = 'header';
  private header: Buffer[] = [];
  private headerLen = 0;
  private remaining = 0;
  private pad = 0;
  private kind: 'file' | 'raw' | 'meta' = 'raw';
  private metaType = '';
  private meta: Buffer[] = [];
  private raw: Buffer[] = [];
  private rawLen = 0;
  private zeroBlocks = 0;
  private lines: string[] = [];
  private linesLen = 0;
  private paxPath?: string;
  private paxSize?: number;
  private gnuLongName?: string;
  private sparse = false;
  /** Set when the stream was refused; the reason is the error the stream failed with. */
  problem?: InvalidParameterError;

  /**
   * Starts recording at once (so the caller can pipe into it before any
   * await); the entries are compressed in memory until `saveTo` names the
   * file.
   */
  constructor() {
    super();
    this.gz.on('error', (err) => this.destroy(err));
  }

  /** Writes the tar-split entries to `splitPath` (a gzip file). */
  saveTo(splitPath: string): void {
    const file = createWriteStream(splitPath, { mode: 0o600 });
    this.gz.pipe(file);
    this.done = finished(file);
    this.done.catch(() => {});
  }

  /** `sha256:<hex>` of every byte seen. */
  get diffId(): string {
    return 'sha256:' + this.hash.copy().digest('hex');
  }

  get size(): number {
    return this.bytes;
  }

  /** Waits until the tar-split file named by `saveTo` is complete on disk. */
  async close(): Promise<void> {
    this.endGzip();
    await this.done;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    try {
      this.scan(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const clean = this.state === 'eof' || (this.state === 'header' && this.headerLen === 0);
    if (!clean) {
      cb(this.fail('unexpected EOF'));
      return;
    }
    for (const b of this.header) this.addRaw(b);
    this.flushRaw();
    this.endGzip();
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.endGzip();
    cb(err);
  }

  private endGzip(): void {
    if (this.gz.writableEnded) return;
    this.flushLines();
    this.gz.end();
  }

  private scan(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.state === 'eof') {
        this.addRaw(chunk.subarray(off));
        return;
      }
      if (this.state === 'header') {
        if (this.headerLen === 0 && chunk.length - off >= BLOCK) {
          // The usual case: the whole header is in this chunk, no copy needed.
          off += BLOCK;
          this.onHeader(chunk.subarray(off - BLOCK, off));
          continue;
        }
        const take = Math.min(BLOCK - this.headerLen, chunk.length - off);
        this.header.push(chunk.subarray(off, off + take));
        this.headerLen += take;
        off += take;
        if (this.headerLen === BLOCK) {
          const block = Buffer.concat(this.header);
          this.header = [];
          this.headerLen = 0;
          this.onHeader(block);
        }
        continue;
      }
      const left = this.state === 'data' ? this.remaining : this.pad;
      const take = Math.min(left, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      if (this.state === 'pad') {
        this.addRaw(piece);
        this.pad -= take;
        if (this.pad === 0) this.state = 'header';
        continue;
      }
      if (this.kind !== 'file') this.addRaw(piece);
      if (this.kind === 'meta') this.meta.push(piece);
      this.remaining -= take;
      if (this.remaining === 0) this.endData();
    }
  }

  private onHeader(block: Buffer): void {
    this.addRaw(block);
    if (isZeroBlock(block)) {
      if (++this.zeroBlocks >= 2) this.state = 'eof';
      return;
    }
    if (this.zeroBlocks > 0 || !checksumOk(block)) throw this.fail(INVALID_HEADER);
    const h = rawHeader(block);
    if (!h) throw this.fail(INVALID_HEADER);
    const isMeta = h.type === 'x' || h.type === 'g' || h.type === 'L' || h.type === 'K';
    const size = isMeta ? h.size : this.paxSize ?? h.size;
    if (isMeta) {
      this.kind = (h.type === 'x' || h.type === 'L') && size <= MAX_META ? 'meta' : 'raw';
      this.metaType = h.type;
      this.meta = [];
    } else {
      const name = this.paxPath ?? this.gnuLongName ?? h.name;
      if (isRegular(h.type) && !this.sparse && size > 0) {
        this.kind = 'file';
        this.flushRaw();
        this.record({ type: 1, name, size });
      } else {
        this.kind = 'raw';
      }
      this.paxPath = this.paxSize = this.gnuLongName = undefined;
      this.sparse = false;
    }
    this.remaining = size;
    this.pad = padding(size);
    if (size > 0) this.state = 'data';
    else if (isMeta) this.endData();
  }

  private endData(): void {
    if (this.kind === 'meta') {
      const data = Buffer.concat(this.meta);
      this.meta = [];
      if (this.metaType === 'x') {
        let recs: Record<string, string>;
        try {
          recs = parsePax(data);
        } catch (err) {
          throw err instanceof TarParseError ? this.fail(err.message) : err;
        }
        if (recs.path !== undefined) this.paxPath = recs.path;
        if (recs.size !== undefined && /^\d+$/.test(recs.size)) this.paxSize = Number(recs.size);
        if (Object.keys(recs).some((k) => k.startsWith('GNU.sparse.'))) this.sparse = true;
      } else {
        this.gnuLongName = cString(data);
      }
    }
    this.state = this.pad > 0 ? 'pad' : 'header';
  }

  private addRaw(b: Buffer): void {
    if (b.length === 0) return;
    this.raw.push(b);
    this.rawLen += b.length;
    if (this.rawLen >= MAX_SEGMENT) this.flushRaw();
  }

  private flushRaw(): void {
    if (this.rawLen === 0) return;
    const bytes = this.raw.length === 1 ? this.raw[0]! : Buffer.concat(this.raw, this.rawLen);
    // JSON.stringify({ type: 2, payload }) without the object: base64 needs no escaping.
    this.addLine(`{"type":2,"payload":"${bytes.toString('base64')}"}\n`);
    this.raw = [];
    this.rawLen = 0;
  }

  private record(entry: SplitEntry): void {
    this.addLine(JSON.stringify(entry) + '\n');
  }

  private addLine(line: string): void {
    this.lines.push(line);
    this.linesLen += line.length;
    if (this.linesLen >= RECORD_BATCH) this.flushLines();
  }

  private flushLines(): void {
    if (this.linesLen === 0) return;
    this.gz.write(this.lines.join(''));
    this.lines = [];
    this.linesLen = 0;
  }

  private fail(message: string): InvalidParameterError {
    this.problem ??= new InvalidParameterError(message);
    return this.problem;
  }
}

/** Regular files, whose data is read back from the unpacked layer. */
function isRegular(type: string): boolean {
  return type === '0' || type === '7';
}

/** Reads the tar-split entries of a layer. */
async function* entries(splitPath: string): AsyncGenerator<SplitEntry> {
  const lines = createInterface({ input: createReadStream(splitPath).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line) yield JSON.parse(line) as SplitEntry;
  }
}

/** Size in bytes of the tar the split file reassembles to. */
export async function assembledSize(splitPath: string): Promise<number> {
  let n = 0;
  for await (const e of entries(splitPath)) n += e.type === 1 ? e.size : Buffer.byteLength(e.payload, 'base64');
  return n;
}

/**
 * Rebuilds the original layer tar from its tar-split file and the unpacked
 * layer at `root` (a mounted view of exactly that layer). File data is read
 * with the final component never followed and parents resolved inside root.
 */
export function assembleTar(splitPath: string, root: string): Readable {
  return Readable.from(assemble(splitPath, root), { objectMode: false });
}

async function* assemble(splitPath: string, root: string): AsyncGenerator<Buffer> {
  for await (const e of entries(splitPath)) {
    if (e.type === 2) {
      yield Buffer.from(e.payload, 'base64');
      continue;
    }
    const rel = cleanRelative(e.name);
    if (rel === null || rel === '') throw new SystemError(`tar-split entry ${JSON.stringify(e.name)} is outside the layer`);
    const path = await resolveInRoot(root, rel);
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      let left = e.size;
      const buf = Buffer.allocUnsafe(Math.min(left, 1 << 16));
      while (left > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(left, buf.length), null);
        if (bytesRead === 0) throw new SystemError(`layer file ${e.name} is shorter than when it was imported`);
        left -= bytesRead;
        yield Buffer.from(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  }
}
