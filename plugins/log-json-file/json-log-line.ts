import type { LogEntry } from '../../kernel/index.js';
import { formatStamp, parseLogTime } from './log-time.js';

const HEX = '0123456789abcdef';

/** Bytes that go into a JSON string as they are: printable ASCII but quote, backslash, <, >, & (1), all others 0. */
export const SAFE_BYTE = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) SAFE_BYTE[b] = 1;
for (const c of '"\\<>&') SAFE_BYTE[c.charCodeAt(0)] = 0;

/**
 * One line of dockerd's json-file format (jsonlog.JSONLogs.MarshalJSONBuf):
 *
 *   {"log":"hello\n","stream":"stdout","attrs":{…},"time":"2026-11-27T16:26:54.809272298Z"}\n
 *
 * `log` keeps the newline unless the entry is a partial chunk; fields are
 * omitted when empty, as Go's omitempty; `attrs` is the pre-encoded object
 * of the labels/env/tag options. Built in one buffer: this runs per line.
 */
export function marshalEntry(e: LogEntry, attrsJson?: string): Buffer {
  const hasLog = e.line.length > 0 || !e.partial;
  const tail = tailOf(e, hasLog, attrsJson);
  const plain = hasLog && safePrefix(e.line) === e.line.length;
  const logMax = !hasLog ? 0 : plain ? e.line.length + 4 : e.line.length * 6 + 4;
  const out = Buffer.allocUnsafe(8 + logMax + (attrsJson ? lastTail.bytes : tail.length));
  let o = (hasLog ? LOG_OPEN : BRACE).copy(out, 0);
  if (plain) {
    out[o++] = 0x22;
    o += e.line.copy(out, o);
    if (!e.partial) o += ESCAPED_NL.copy(out, o);
    out[o++] = 0x22;
  } else if (hasLog) {
    o = escapeInto(e.line, out, o, !e.partial);
  }
  o += out.write(tail, o, attrsJson ? 'utf8' : 'latin1');
  return out.subarray(0, o);
}

/**
 * The fields after `log`. Lines read together share their time stamp (and
 * stream and attrs), so the last tail is kept and reused: no time formatting
 * per line.
 */
const lastTail = { nano: -1n, stream: '', hasLog: false, attrs: undefined as string | undefined, text: '', bytes: 0 };
function tailOf(e: LogEntry, hasLog: boolean, attrsJson: string | undefined): string {
  const t = lastTail;
  if (e.timeNano !== undefined && e.timeNano === t.nano && e.stream === t.stream && hasLog === t.hasLog && attrsJson === t.attrs) return t.text;
  const text = `${hasLog ? ',' : ''}"stream":"${e.stream}"${attrsJson ? `,"attrs":${attrsJson}` : ''},"time":"${formatStamp(e)}"}\n`;
  t.nano = e.timeNano ?? -1n;
  t.stream = e.stream;
  t.hasLog = hasLog;
  t.attrs = attrsJson;
  t.text = text;
  t.bytes = attrsJson ? Buffer.byteLength(text) : text.length;
  return text;
}

const LOG_OPEN = Buffer.from('{"log":');
const BRACE = Buffer.from('{');
const ESCAPED_NL = Buffer.from('\\n');

/** How many leading bytes of `s` go into a JSON string unchanged (printable ASCII but " \\ < > &). */
function safePrefix(s: Buffer): number {
  let i = 0;
  while (i < s.length && SAFE_BYTE[s[i]!] === 1) i++;
  return i;
}

/** One stored line back as an entry; undefined for a line that is not a log record (torn by a crash). */
export function decodeEntry(line: Buffer): LogEntry | undefined {
  const fast = decodePlain(line);
  return fast === null ? decodeJson(line) : fast;
}

const LOG_PREFIX = Buffer.from('{"log":"');
const STDOUT_FIELD = Buffer.from('","stream":"stdout"');
const STDERR_FIELD = Buffer.from('","stream":"stderr"');
const TIME_FIELD = Buffer.from(',"time":"');
const ATTRS_FIELD = Buffer.from(',"attrs":');

/**
 * The common case without JSON.parse: a line this writer produced for text
 * that needed no escaping but the final newline, so the log bytes sit in the
 * line as they are. Anything else answers null and goes through JSON.parse.
 */
function decodePlain(line: Buffer): LogEntry | undefined | null {
  if (line.length < 40 || line.compare(LOG_PREFIX, 0, 8, 0, 8) !== 0) return null;
  const q = line.indexOf(0x22, 8);
  if (q < 0) return null;
  const bs = line.indexOf(0x5c, 8);
  let end = q;
  if (bs >= 0 && bs < q) {
    if (bs !== q - 2 || line[q - 1] !== 0x6e /* n */) return null;
    end = bs;
  }
  // Fields compared as bytes: no string of the line's tail per line.
  let stream: 'stdout' | 'stderr';
  if (line.length < q + 19) return null;
  if (line.compare(STDOUT_FIELD, 0, 19, q, q + 19) === 0) stream = 'stdout';
  else if (line.compare(STDERR_FIELD, 0, 19, q, q + 19) === 0) stream = 'stderr';
  else return null;
  const timeAbs = line.lastIndexOf(TIME_FIELD);
  const timeAt = timeAbs - q;
  if (timeAbs < 0 || timeAt < 19 || line[line.length - 2] !== 0x22 || line[line.length - 1] !== 0x7d) return null;
  let attrs: Record<string, string> | undefined;
  if (timeAt > 19) {
    if (line.compare(ATTRS_FIELD, 0, 9, q + 19, q + 28) !== 0) return null;
    try {
      // The attrs may hold UTF-8: decode them from the bytes, not the latin1 view.
      attrs = JSON.parse(line.toString('utf8', q + 28, timeAbs)) as Record<string, string>;
    } catch {
      return null;
    }
  }
  const t = parseLogTime(line.toString('latin1', timeAbs + 9, line.length - 2));
  if (t === undefined) return undefined;
  const entry: LogEntry = { stream, line: Buffer.from(line.subarray(8, end)), time: new Date(t.ms), timeNano: t.nano };
  if (end === q) entry.partial = true;
  if (attrs) entry.attrs = attrs;
  return entry;
}

function decodeJson(line: Buffer): LogEntry | undefined {
  let o: { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
  try {
    o = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== 'object') return undefined;
  const t = parseLogTime(o.time);
  if (t === undefined) return undefined;
  const log = typeof o.log === 'string' ? o.log : '';
  const partial = !log.endsWith('\n');
  const entry: LogEntry = {
    stream: o.stream === 'stderr' ? 'stderr' : 'stdout',
    line: Buffer.from(partial ? log : log.slice(0, -1), 'utf8'),
    time: new Date(t.ms),
    timeNano: t.nano,
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
  return out.subarray(0, escapeInto(s, out, 0, false));
}

/** Writes `s` as a JSON string into `out` at `o` (plus an escaped newline when `newline`); returns the end. */
export function escapeInto(s: Buffer, out: Buffer, o: number, newline: boolean): number {
  const put = (str: string) => { o += out.write(str, o, 'latin1'); };
  out[o++] = 0x22;
  let run = 0;
  let i = 0;
  while (i < s.length) {
    const b = s[i]!;
    if (SAFE_BYTE[b] === 1) { i++; continue; }
    let n = 0;
    if (b >= 0x80) {
      n = utf8RuneLength(s, i);
      const lineSep = n === 3 && b === 0xe2 && s[i + 1] === 0x80 && (s[i + 2] === 0xa8 || s[i + 2] === 0xa9);
      if (n > 0 && !lineSep) { i += n; continue; }
    }
    if (run < i) o += s.copy(out, o, run, i);
    if (b === 0x5c || b === 0x22) { out[o++] = 0x5c; out[o++] = b; i++; }
    else if (b === 0x0a) { put('\\n'); i++; }
    else if (b === 0x0d) { put('\\r'); i++; }
    else if (b < 0x80) { put(`\\u00${HEX[b >> 4]}${HEX[b & 15]}`); i++; }
    else if (n === 0) { put('\\ufffd'); i++; }
    else { put(s[i + 2] === 0xa8 ? '\\u2028' : '\\u2029'); i += 3; }
    run = i;
  }
  if (run < i) o += s.copy(out, o, run, i);
  if (newline) put('\\n');
  out[o++] = 0x22;
  return o;
}

/** Length of the valid UTF-8 sequence at `i` (Go's utf8.DecodeRune rules), 0 when invalid. */
export function utf8RuneLength(s: Buffer, i: number): number {
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
