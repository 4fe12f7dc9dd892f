/**
 * Bytes → text for daemon.json, as dockerd does it: a BOM decides the
 * encoding (UTF-8, UTF-16LE or UTF-16BE), no BOM means UTF-8, and invalid UTF-8
 * is an error rather than silently replaced. Windows editors (Notepad,
 * PowerShell) write BOMs, which is why dockerd accepts them.
 */

export class DecodeError extends Error {
  constructor(readonly offset: number) {
    super(`failed to decode configuration JSON at offset ${offset}: encoding: invalid UTF-8`);
  }
}

export function decodeConfigText(bytes: Uint8Array): string {
  const b = bytes;
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return new TextDecoder('utf-16le').decode(b.subarray(2));
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return new TextDecoder('utf-16be').decode(b.subarray(2));
  const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const bad = firstInvalidUtf8(b, start);
  if (bad >= 0) throw new DecodeError(bad);
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(b.subarray(start));
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(b: Uint8Array, from: number): number {
  let i = from;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return i; // not a lead byte, or the sequence is cut off
    const c1 = b[i + 1]!;
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF.
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return -1;
}
