import { createReadStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createDeflateRaw, crc32, gunzip } from 'node:zlib';
import { formatRfc3339Nano, parseRfc3339Nano } from './log-time.js';

/** promisify'd on first use: at module load it would pull zlib into every daemon start. */
let gunzipAsync: ((buf: Buffer) => Promise<Buffer>) | undefined;

/**
 * Rotated log files are gzipped as dockerd's compressFile does: the gzip
 * header's Extra field holds `{"lastTime":"<RFC 3339>"}`, the time of the
 * file's last entry, so a reader with `since` after it skips the file without
 * decompressing. Node's gzip cannot write Extra, so the member is assembled
 * here: header (FLG.FEXTRA, MTIME 0, OS 255 as Go's writer), raw deflate, CRC-32 and size.
 */
export async function compressLogFile(src: string, lastTime: bigint): Promise<void> {
  let input;
  try {
    input = await open(src, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const dst = `${src}.gz`;
  const out = await open(dst, 'w', 0o640);
  try {
    const extra = Buffer.from(JSON.stringify({ lastTime: formatRfc3339Nano(lastTime) }));
    const header = Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255, extra.length & 0xff, extra.length >> 8]);
    await out.write(Buffer.concat([header, extra]));
    let crc = 0;
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    await pipeline(createReadStream('', { fd: input, autoClose: false }), tap, createDeflateRaw(), fileSink(out));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    await out.write(trailer);
    await out.sync();
  } catch (err) {
    await out.close().catch(() => {});
    await input.close().catch(() => {});
    await unlink(dst).catch(() => {});
    throw err;
  }
  await out.close();
  await input.close();
  await unlink(src);
}

/** The `lastTime` recorded in a compressed log's gzip header, if any. */
export async function compressedLastTime(fh: FileHandle): Promise<bigint | undefined> {
  const head = Buffer.alloc(12 + 0xffff);
  const { bytesRead } = await fh.read(head, 0, head.length, 0);
  if (bytesRead < 12 || head[0] !== 0x1f || head[1] !== 0x8b || (head[3]! & 4) === 0) return undefined;
  const xlen = head.readUInt16LE(10);
  try {
    return parseRfc3339Nano((JSON.parse(head.subarray(12, 12 + xlen).toString('utf8')) as { lastTime?: unknown }).lastTime);
  } catch {
    return undefined;
  }
}

/** A whole compressed log, decompressed (rotated files are bounded by max-size). */
export async function decompressLogFile(fh: FileHandle): Promise<Buffer> {
  const { size } = await fh.stat();
  const raw = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await fh.read(raw, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  gunzipAsync ??= promisify(gunzip);
  return gunzipAsync(raw.subarray(0, off));
}

function fileSink(fh: FileHandle): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      fh.write(chunk).then(() => cb(), cb);
    },
  });
}
