/**
 * Just enough of the tar format (ustar, GNU and PAX extensions) to find where
 * each entry's data lies in a stream, for the tar-split recorder. The graph
 * driver does the real unpacking; this never interprets modes or owners.
 */
export const BLOCK = 512;

export interface RawHeader {
  /** Entry name from the header alone (ustar prefix + name); PAX/GNU long names override it. */
  name: string;
  type: string;
  size: number;
}

/** Go's archive/tar checks the header checksum (unsigned or signed sum); so do we. */
export function checksumOk(block: Buffer): boolean {
  const stored = parseOctal(block.subarray(148, 156));
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

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses a header block; null when the size field is unreadable. */
export function parseHeader(block: Buffer): RawHeader | null {
  const size = parseNumeric(block.subarray(124, 136));
  if (size === null || size < 0) return null;
  const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  let name = cString(block.subarray(0, 100));
  const magic = block.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\0') {
    const prefix = cString(block.subarray(345, 500));
    if (prefix) name = `${prefix}/${name}`;
  }
  return { name, type, size };
}

/** Records of a PAX extended header ("%d %s=%s\n"). */
export function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Regular files whose data can be read back from the unpacked layer. */
export function isRegular(type: string): boolean {
  return type === '0' || type === '7';
}

export function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}

function parseOctal(field: Buffer): number | null {
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return null;
  return parseInt(s, 8);
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
function parseNumeric(field: Buffer): number | null {
  if (field[0]! & 0x80) {
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return Number.isSafeInteger(v) ? v : null;
  }
  return parseOctal(field);
}

export function padding(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}
