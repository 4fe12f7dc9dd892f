import type { LogEntry } from '../../kernel/index.js';
import { entryNano, formatRfc3339Nano, parseRfc3339Nano } from './log-time.js';

const HEX = '0123456789abcdef';
const NL = Buffer.from('\n');

/**
 * One line of dockerd's json-file format (jsonlog.JSONLogs.MarshalJSONBuf):
 *
 *   {"log":"hello\n","stream":"stdout","attrs":{…},"time":"2026-11-27T16:26:54.809272298Z"}\n
 *
 * `log` keeps the newline unless the entry is a partial chunk; fields are
 * omitted when empty, as Go's omitempty; `attrs` is the pre-encoded object
 * of the labels/env/tag options.
 */
export function marshalEntry(e: LogEntry, attrsJson?: string): Buffer {
  const parts: Buffer[] = [Buffer.from('{')];
  let first = true;
  const sep = () => { if (!first) parts.push(Buffer.from(',')); first = false; };
  if (e.line.length > 0 || !e.partial) {
    sep();
    parts.push(Buffer.from('"log":'), escapeJsonBytes(e.partial ? e.line : Buffer.concat([e.line, NL])));
  }
  sep();
  parts.push(Buffer.from(`"stream":"${e.stream}"`));
  if (attrsJson) parts.push(Buffer.from(`,"attrs":${attrsJson}`));
  parts.push(Buffer.from(`,"time":"${formatRfc3339Nano(entryNano(e))}"}\n`));
  return Buffer.concat(parts);
}

/** One stored line back as an entry; undefined for a line that is not a log record (torn by a crash). */
export function decodeEntry(line: Buffer): LogEntry | undefined {
  let o: { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
  try {
    o = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  const nano = parseRfc3339Nano(o.time);
  if (nano === undefined) return undefined;
  const log = typeof o.log === 'string' ? o.log : '';
  const partial = !log.endsWith('\n');
  const entry: LogEntry = {
    stream: o.stream === 'stderr' ? 'stderr' : 'stdout',
    line: Buffer.from(partial ? log : log.slice(0, -1), 'utf8'),
    time: new Date(Number(nano / 1_000_000n)),
    timeNano: nano,
  };
  if (partial) entry.partial = true;
  if (o.attrs && typeof o.attrs === 'object' && !Array.isArray(o.attrs)) entry.attrs = o.attrs as Record<string, string>;
  return entry;
}

/**
 * Bytes as a JSON string the way dockerd writes them
 * (ffjsonWriteJSONBytesAsString): `\"`, `\\`, `\n`, `\r` short; other control
 * bytes and `<`, `>`, `&` as \u00XX; invalid UTF-8 as \ufffd; U+2028/U+2029
 * escaped; valid UTF-8 copied through.
 */
export function escapeJsonBytes(s: Buffer): Buffer {
  const out = Buffer.allocUnsafe(s.length * 6 + 2);
  let o = 0;
  const put = (str: string) => { o += out.write(str, o, 'latin1'); };
  out[o++] = 0x22;
  let i = 0;
  while (i < s.length) {
    const b = s[i]!;
    if (b < 0x80) {
      if (b >= 0x20 && b !== 0x5c && b !== 0x22 && b !== 0x3c && b !== 0x3e && b !== 0x26) out[o++] = b;
      else if (b === 0x5c || b === 0x22) { out[o++] = 0x5c; out[o++] = b; }
      else if (b === 0x0a) put('\\n');
      else if (b === 0x0d) put('\\r');
      else put(`\\u00${HEX[b >> 4]}${HEX[b & 15]}`);
      i++;
      continue;
    }
    const n = utf8RuneLength(s, i);
    if (n === 0) {
      put('\\ufffd');
      i++;
      continue;
    }
    if (n === 3 && s[i] === 0xe2 && s[i + 1] === 0x80 && (s[i + 2] === 0xa8 || s[i + 2] === 0xa9)) {
      put(s[i + 2] === 0xa8 ? '\\u2028' : '\\u2029');
    } else {
      s.copy(out, o, i, i + n);
      o += n;
    }
    i += n;
  }
  out[o++] = 0x22;
  return out.subarray(0, o);
}

/** Length of the valid UTF-8 sequence at `i` (Go's utf8.DecodeRune rules), 0 when invalid. */
function utf8RuneLength(s: Buffer, i: number): number {
  const b0 = s[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < s.length && s[i + k]! >= lo && s[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** Go's json.Marshal of a map[string]string: keys sorted, HTML characters escaped. */
export function marshalAttrs(attrs: Record<string, string>): string | undefined {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return undefined;
  const str = (s: string) => JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `{${keys.map((k) => `${str(k)}:${str(attrs[k]!)}`).join(',')}}`;
}
