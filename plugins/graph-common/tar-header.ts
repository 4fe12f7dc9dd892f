/**
 * The tar format's building blocks, as Go's archive/tar reads them (dockerd
 * is the oracle): 512-byte blocks, header checksums, numeric fields, names
 * and PAX records. One module for both readers of layer tars: the applier's
 * TarParser (tar-parser.ts), which unpacks, and the image store's tar-split
 * recorder, which only needs to know where each entry's data lies.
 */
export const BLOCK = 512;

export class TarParseError extends Error {}

export const INVALID_HEADER = 'archive/tar: invalid tar header';

/** What a header block says by itself, before PAX or GNU long-name records override it. */
export interface RawHeader {
  /** ustar prefix + name. */
  name: string;
  /** The type flag as a character; a NUL flag reads as '0' (a regular file), as Go has it. */
  type: string;
  size: number;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Go accepts the stored checksum as the unsigned or the signed sum of the header (checksum field as spaces). */
export function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  if (stored === null) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** A numeric field: base-256 when the top bit is set (GNU), else octal padded with spaces or NULs; null when unreadable. */
export function numeric(block: Buffer, off: number, len: number): number | null {
  if (block[off]! & 0x80) {
    const negative = (block[off]! & 0x40) !== 0;
    let n = (block[off]! & 0x3f) - (negative ? 0x40 : 0);
    for (let i = off + 1; i < off + len; i++) n = n * 256 + block[i]!;
    return Number.isSafeInteger(n) ? n : null;
  }
  let i = off;
  const end = off + len;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = block[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) return null;
    n = n * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (block[i] !== 0x20 && block[i] !== 0) return null;
  return digits === 0 ? 0 : n;
}

/** A NUL-terminated string of at most `len` bytes from `off` (the whole buffer by default). */
export function cString(buf: Buffer, off = 0, len = buf.length - off): string {
  const nul = buf.indexOf(0, off);
  return buf.toString('utf8', off, nul < 0 || nul > off + len ? off + len : nul);
}

/** Name (with the ustar prefix), type flag and size of a header block; null when the size is unreadable. */
export function rawHeader(block: Buffer): RawHeader | null {
  const size = numeric(block, 124, 12);
  if (size === null || size < 0) return null;
  const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  let name = cString(block, 0, 100);
  if (block.toString('latin1', 257, 263) === 'ustar\0' && block[345] !== 0) name = `${cString(block, 345, 155)}/${name}`;
  return { name, type, size };
}

/** PAX records: "<len> <key>=<value>\n" each; a malformed length is an invalid header, as in Go. */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > data.length) throw new TarParseError(INVALID_HEADER);
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Bytes of padding after `size` bytes of entry data. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
