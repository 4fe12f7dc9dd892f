import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type LogEntry } from '../../kernel/index.js';
import { decodeEntry, utf8RuneLength } from './json-log-line.js';
import { TimeTextCache } from '../../lib/time-text-cache.js';
import { parseLogTime } from './log-time.js';

const LOG_OPEN = Buffer.from('{"log":"');
const STREAM_FIELD = Buffer.from('","stream":"std');
const ATTRS_FIELD = Buffer.from(',"attrs":');
const TIME_FIELD = Buffer.from(',"time":"');

/**
 * Decodes stored json-file lines in place, for batched reads: the text of
 * `log` is unescaped into the line's own bytes (an escape is never shorter
 * than what it stands for), so a line costs no Buffer, string or object.
 * Lines laid out as dockerd (and marshalEntry) write them take this path;
 * anything else goes through decodeEntry (JSON.parse), whose result the
 * fast path matches byte for byte: `\uXXXX` and surrogate pairs as UTF-8, a
 * lone surrogate as U+FFFD, raw UTF-8 copied, and every line the fast path
 * cannot vouch for (invalid raw UTF-8, raw control bytes, other layouts)
 * left to JSON.parse from its original bytes.
 *
 * After `decode` returns 'line': the text is `data[bodyStart, bodyEnd)`, with
 * `flags`, `nano` and `attrs`.
 */
export class JsonLineDecoder {
  bodyStart = 0;
  bodyEnd = 0;
  flags = 0;
  nano = 0n;
  attrs: Record<string, string> | undefined;
  /** After a fast-path 'line': where its time text is (`data[timeStart, timeEnd)`); -1 after any other. */
  timeStart = -1;
  timeEnd = -1;
  /** After 'entry': a line whose decoded text is longer than the line (invalid raw UTF-8 replaced), as its own entry. */
  entry: LogEntry | undefined;

  private scratch = Buffer.alloc(1024);
  private readonly time = new TimeTextCache((text) => parseLogTime(text)?.nano);
  private attrsText = Buffer.alloc(0);
  private bsData: Buffer | undefined;
  private bsFrom = 0;
  private bsAt = -1;
  private attrsValue: Record<string, string> | undefined;

  /** Line `data[s, e)` (no newline): 'line', 'entry', or 'skip' for a line that is not a log record. */
  decode(data: Buffer, s: number, e: number): 'line' | 'entry' | 'skip' {
    this.timeStart = -1;
    if (e - s >= 40 && startsWith(data, s, LOG_OPEN)) {
      const fast = this.fast(data, s, e);
      if (fast !== 'slow') return fast;
    }
    return this.slow(data.subarray(s, e), data, s);
  }

  private fast(data: Buffer, s: number, e: number): 'line' | 'skip' | 'slow' {
    let r = s + 8;
    let w = r;
    let saved = false;
    let newline = false;
    // Text with no escape but the final newline (decodeEntry's plain case, as dockerd writes
    // most lines): found by two native searches, with nothing to look at or move byte by byte.
    const q = data.indexOf(0x22, r);
    const bs = q >= 0 && q < e ? this.backslash(data, r) : -2;
    let plain = false;
    if (bs !== -2 && (bs < 0 || bs > q)) {
      r = w = q;
      plain = true;
    } else if (bs !== -2 && bs === q - 2 && data[q - 1] === 0x6e) {
      w = q - 2;
      r = q;
      newline = true;
      plain = true;
    }
    while (!plain) {
      if (r >= e) return this.bail(saved, data, s, e);
      const b = data[r]!;
      if (b === 0x22) break;
      if (b === 0x5c) {
        const c = data[r + 1];
        // The newline ending a full line is not part of the entry's bytes: nothing to write.
        if (c === 0x6e && data[r + 2] === 0x22) { newline = true; r += 2; break; }
        if (!saved) {
          if (this.scratch.length < e - s) this.scratch = Buffer.alloc((e - s) * 2);
          data.copy(this.scratch, 0, s, e);
          saved = true;
        }
        let out = -1;
        if (c === 0x6e) out = 0x0a;
        else if (c === 0x22 || c === 0x5c || c === 0x2f) out = c;
        else if (c === 0x74) out = 0x09;
        else if (c === 0x72) out = 0x0d;
        else if (c === 0x62) out = 0x08;
        else if (c === 0x66) out = 0x0c;
        if (out >= 0) { data[w++] = out; r += 2; continue; }
        if (c !== 0x75) return this.bail(saved, data, s, e);
        let cp = hex4(data, r + 2, e);
        if (cp < 0) return this.bail(saved, data, s, e);
        r += 6;
        if (cp >= 0xd800 && cp <= 0xdfff) {
          const lo = cp <= 0xdbff && data[r] === 0x5c && data[r + 1] === 0x75 ? hex4(data, r + 2, e) : -1;
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            r += 6;
          } else {
            cp = 0xfffd; // JSON.parse keeps a lone surrogate; its UTF-8 is U+FFFD
          }
        }
        w = putUtf8(data, w, cp);
        continue;
      }
      if (b < 0x20) return this.bail(saved, data, s, e);
      if (b < 0x80) { data[w++] = b; r++; continue; }
      const n = utf8RuneLength(data, r);
      if (n === 0 || r + n > e) return this.bail(saved, data, s, e);
      for (let k = 0; k < n; k++) data[w++] = data[r++]!;
    }
    // r is at the closing quote: `","stream":"stdout"` or stderr.
    if (r + 19 > e || !startsWith(data, r, STREAM_FIELD)) return this.bail(saved, data, s, e);
    let flags = newline ? 0 : LOG_LINE_PARTIAL;
    const kind = data[r + 15];
    if (kind === 0x65 && data[r + 16] === 0x72 && data[r + 17] === 0x72) flags |= LOG_LINE_STDERR; // err
    else if (kind !== 0x6f || data[r + 16] !== 0x75 || data[r + 17] !== 0x74) return this.bail(saved, data, s, e); // out
    if (data[r + 18] !== 0x22) return this.bail(saved, data, s, e);
    let p = r + 19;
    let attrs: Record<string, string> | undefined;
    if (p + 9 <= e && startsWith(data, p, ATTRS_FIELD)) {
      const t = s + data.subarray(s, e).lastIndexOf(TIME_FIELD);
      if (t <= p + 9) return this.bail(saved, data, s, e);
      const parsed = this.parseAttrs(data, p + 9, t);
      if (parsed === null) return this.bail(saved, data, s, e);
      attrs = parsed;
      p = t;
    }
    if (p + 11 > e || !startsWith(data, p, TIME_FIELD) || data[e - 2] !== 0x22 || data[e - 1] !== 0x7d) return this.bail(saved, data, s, e);
    const nano = this.time.parse(data, p + 9, e - 2);
    if (nano === undefined) return 'skip';
    this.bodyStart = s + 8;
    this.bodyEnd = w;
    this.timeStart = p + 9;
    this.timeEnd = e - 2;
    this.flags = flags;
    this.nano = nano;
    this.attrs = attrs;
    return 'line';
  }

  /**
   * The first backslash at or after `from` in `data` (-1: none). Lines are decoded in order, so
   * the last answer is reused while it is still ahead: one search per backslash, not per line.
   */
  private backslash(data: Buffer, from: number): number {
    if (this.bsData === data && from >= this.bsFrom && (this.bsAt < 0 || this.bsAt >= from)) return this.bsAt;
    this.bsData = data;
    this.bsFrom = from;
    this.bsAt = data.indexOf(0x5c, from);
    return this.bsAt;
  }

  /** The fast path gave up: put back what it unescaped, for JSON.parse. */
  private bail(saved: boolean, data: Buffer, s: number, e: number): 'slow' {
    if (saved) this.scratch.copy(data, s, 0, e - s);
    return 'slow';
  }

  private slow(line: Buffer, data: Buffer, s: number): 'line' | 'entry' | 'skip' {
    const entry = decodeEntry(line);
    if (!entry) return 'skip';
    // A new value for callers; the next fast line parses its time afresh (and bumps again).
    this.time.forget();
    this.flags = (entry.stream === 'stderr' ? LOG_LINE_STDERR : 0) | (entry.partial ? LOG_LINE_PARTIAL : 0);
    this.nano = entry.timeNano!;
    this.attrs = entry.attrs;
    if (entry.line.length > line.length) {
      this.entry = entry;
      return 'entry';
    }
    entry.line.copy(data, s);
    this.bodyStart = s;
    this.bodyEnd = s + entry.line.length;
    return 'line';
  }

  /** The attrs object (the previous line's when its bytes are the same); null when not a JSON object. */
  private parseAttrs(data: Buffer, from: number, to: number): Record<string, string> | undefined | null {
    const n = to - from;
    if (n === this.attrsText.length && data.compare(this.attrsText, 0, n, from, to) === 0) return this.attrsValue;
    let v: unknown;
    try {
      v = JSON.parse(data.toString('utf8', from, to));
    } catch {
      return null;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    this.attrsText = Buffer.from(data.subarray(from, to));
    this.attrsValue = v as Record<string, string>;
    return this.attrsValue;
  }

  /** Bumped whenever `nano` may have changed: callers compare this number, not the BigInt (a runtime call per line). */
  get timeGeneration(): number {
    return this.time.generation;
  }
}

function startsWith(data: Buffer, at: number, word: Buffer): boolean {
  for (let i = 0; i < word.length; i++) if (data[at + i] !== word[i]) return false;
  return true;
}

/** Four hex digits at `at` (before `end`), or -1. */
function hex4(data: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = data[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Writes code point `cp` as UTF-8 at `w`; returns the end. */
function putUtf8(data: Buffer, w: number, cp: number): number {
  if (cp < 0x80) {
    data[w++] = cp;
  } else if (cp < 0x800) {
    data[w++] = 0xc0 | (cp >> 6);
    data[w++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    data[w++] = 0xe0 | (cp >> 12);
    data[w++] = 0x80 | ((cp >> 6) & 0x3f);
    data[w++] = 0x80 | (cp & 0x3f);
  } else {
    data[w++] = 0xf0 | (cp >> 18);
    data[w++] = 0x80 | ((cp >> 12) & 0x3f);
    data[w++] = 0x80 | ((cp >> 6) & 0x3f);
    data[w++] = 0x80 | (cp & 0x3f);
  }
  return w;
}
