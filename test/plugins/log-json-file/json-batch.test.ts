import { describe, it, afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, silentLogger, type LogEntry, type LogLineBatch } from '../../../kernel/index.js';
import { newLineBatch, pushLine } from '../../../lib/log-line-batch.js';
import { marshalBatch, marshalBatchJs } from '../../../plugins/log-json-file/json-batch-encode.js';
import { lineEncoder } from '../../../plugins/log-json-file/json-line-wasm.js';
import { JsonLineDecoder } from '../../../plugins/log-json-file/json-batch-decode.js';
import { decodeEntry, marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import { LogFileWriter } from '../../../plugins/log-json-file/log-file-writer.js';
import { compressedLastTime } from '../../../plugins/log-json-file/gzip-extra.js';
import { open } from 'node:fs/promises';
import { rng } from '../../helpers/rng.js';


/** Bytes that exercise every escaping rule: plain ASCII, the HTML five, controls, valid and invalid UTF-8, U+2028. */
function randomLine(r: () => number): Buffer {
  const pieces = [
    () => Buffer.from('plain text 123 '),
    () => Buffer.from('"quoted" back\\slash <tag> & amp'),
    () => Buffer.from([Math.floor(r() * 0x20)]),
    () => Buffer.from([0x7f]),
    () => Buffer.from('héllo wörld ✓ 😀'),
    () => Buffer.from('\u2028\u2029'),
    () => Buffer.from([0x80 + Math.floor(r() * 0x80)]),
    () => Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate: invalid UTF-8
    () => Buffer.from([0xf0, 0x9f, 0x98]), // a truncated 4-byte sequence
    () => Buffer.from([Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256)]),
  ];
  const n = Math.floor(r() * 8);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(pieces[Math.floor(r() * pieces.length)]!());
  return Buffer.concat(parts);
}

/** A batch of random lines laid out in one buffer with junk between them, as a read buffer holds them. */
function randomBatch(r: () => number, count: number, lineOf = randomLine, junkOf = () => '2026-11-28T00:00:00Z stdout F '): { batch: LogLineBatch; entries: LogEntry[] } {
  const T = 1_795_000_000_123_456_789n;
  const parts: Buffer[] = [];
  const spans: Array<[number, number]> = [];
  let size = 0;
  for (let i = 0; i < count; i++) {
    const junk = Buffer.from(junkOf());
    const line = lineOf(r);
    parts.push(junk, line, Buffer.from('\n'));
    spans.push([size + junk.length, size + junk.length + line.length]);
    size += junk.length + line.length + 1;
  }
  const batch = newLineBatch(Buffer.concat(parts), 2);
  const entries: LogEntry[] = [];
  for (let i = 0; i < count; i++) {
    const flags = (r() < 0.3 ? LOG_LINE_STDERR : 0) | (r() < 0.2 ? LOG_LINE_PARTIAL : 0);
    if (batch.times.length === 0 || r() < 0.2) batch.times.push(T + BigInt(batch.times.length) * 1_000_010n + (r() < 0.5 ? 0n : 999_999_000n));
    pushLine(batch, spans[i]![0], spans[i]![1], flags, batch.times.length - 1);
    const timeNano = batch.times[batch.times.length - 1]!;
    const e: LogEntry = { stream: flags & LOG_LINE_STDERR ? 'stderr' : 'stdout', line: batch.data.subarray(spans[i]![0], spans[i]![1]), time: new Date(Number(timeNano / 1_000_000n)), timeNano };
    if (flags & LOG_LINE_PARTIAL) e.partial = true;
    entries.push(e);
  }
  return { batch, entries };
}

describe('json-file lines in batches', () => {
  it('encodes a batch to exactly the bytes marshalEntry gives each line (dockerd\'s format, Go\'s escaping)', () => {
    const r = rng(4);
    for (let round = 0; round < 200; round++) {
      const attrs = round % 3 === 0 ? '{"tag":"wëb <1>"}' : undefined;
      const { batch, entries } = randomBatch(r, 1 + Math.floor(r() * 40));
      const enc = marshalBatch(batch, attrs);
      const want = entries.map((e) => marshalEntry(e, attrs));
      assert.deepEqual(enc.data, Buffer.concat(want), `round ${round}`);
      let end = 0;
      want.forEach((w, i) => { end += w.length; assert.equal(enc.ends[i], end); });
    }
  });

  it('encodes plain ASCII batches (the copy-while-checking path) to the same bytes, bodies with a newline or bytes to escape between lines included', () => {
    const r = rng(23);
    const plainLine = (rr: () => number): Buffer => {
      const kind = rr();
      if (kind < 0.1) return Buffer.alloc(0);
      if (kind < 0.2) return Buffer.from('two\nlines in one body'); // a body newline must still be escaped
      let text = '';
      const n = Math.floor(rr() * 120);
      for (let i = 0; i < n; i++) {
        const c = 0x20 + Math.floor(rr() * 0x60); // printable ASCII and DEL
        text += String.fromCharCode(c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 ? 0x2e : c);
      }
      return Buffer.from(text, 'latin1');
    };
    // Between lines: a spool header, or bytes that would need escaping in a body (they must not matter, nor hide a body's).
    const junk = () => (r() < 0.2 ? 'é"\\<\x01 ' : '2026-11-28T00:00:00Z stdout F ');
    for (let round = 0; round < 200; round++) {
      const attrs = round % 4 === 0 ? '{"tag":"web"}' : undefined;
      const mixed = round % 5 === 0; // one line that needs escaping among plain ones
      const { batch, entries } = randomBatch(r, 1 + Math.floor(r() * 60), (rr) => (mixed && rr() < 0.1 ? randomLine(rr) : plainLine(rr)), round % 2 ? junk : undefined);
      const enc = marshalBatch(batch, attrs);
      assert.deepEqual(enc.data, Buffer.concat(entries.map((e) => marshalEntry(e, attrs))), `round ${round}`);
    }
    // Lines out of buffer order (a batch is a list of ranges, not necessarily ascending).
    const data = Buffer.from('aaa\nbbb\nccc\n');
    const batch = newLineBatch(data, 4);
    batch.times.push(1_795_000_000_000_000_001n);
    pushLine(batch, 8, 11, 0, 0);
    pushLine(batch, 0, 3, LOG_LINE_STDERR, 0);
    pushLine(batch, 4, 9, 0, 0); // spans a newline
    const want = [[8, 11, 'stdout'], [0, 3, 'stderr'], [4, 9, 'stdout']].map(([s, e, stream]) =>
      marshalEntry({ stream: stream as 'stdout', line: data.subarray(s as number, e as number), time: new Date(1_795_000_000_000), timeNano: 1_795_000_000_000_000_001n }));
    assert.deepEqual(marshalBatch(batch).data, Buffer.concat(want));
  });

  it('has the SIMD line encoder (WebAssembly on Node 20): every byte value, at every place around its 16-byte steps, gives marshalEntry\'s bytes', () => {
    assert.ok(lineEncoder(), 'the WebAssembly line encoder compiled');
    const T = 1_795_000_000_123_456_789n;
    for (let len = 0; len <= 40; len++) {
      const lines: Buffer[] = [];
      for (let b = 0; b < 256; b++) {
        const line = Buffer.alloc(len, 0x61 + (b % 26));
        if (len > 0) line[(b * 7) % len] = b; // byte b somewhere in a line of length len
        lines.push(line);
      }
      const batch = newLineBatch(Buffer.concat(lines.flatMap((l) => [Buffer.from('hdr '), l, Buffer.from('\n')])), 4);
      batch.times.push(T);
      let at = 0;
      lines.forEach((l, i) => {
        at += 4;
        pushLine(batch, at, at + l.length, i % 5 === 4 ? LOG_LINE_PARTIAL : 0, 0);
        at += l.length + 1;
      });
      const want = lines.map((l, i) => marshalEntry({ stream: 'stdout', line: l, time: new Date(Number(T / 1_000_000n)), timeNano: T, ...(i % 5 === 4 ? { partial: true } : {}) }));
      const enc = marshalBatch(batch);
      assert.deepEqual(enc.data, Buffer.concat(want), `lines of ${len} bytes`);
      assert.deepEqual(marshalBatchJs(batch).data, enc.data, `JavaScript encoder, lines of ${len} bytes`);
    }
  });

  it('the JavaScript encoder (where WebAssembly is missing) gives the same bytes as marshalEntry', () => {
    const r = rng(31);
    for (let round = 0; round < 100; round++) {
      const attrs = round % 3 === 0 ? '{"tag":"wëb <1>"}' : undefined;
      const { batch, entries } = randomBatch(r, 1 + Math.floor(r() * 40));
      assert.deepEqual(marshalBatchJs(batch, attrs).data, Buffer.concat(entries.map((e) => marshalEntry(e, attrs))), `round ${round}`);
    }
  });

  it('encodes batches too big for the line encoder\'s memory in JavaScript, to the same bytes, and keeps that memory bounded', () => {
    const T = 1_795_000_000_123_456_789n;
    const entry = (line: Buffer) => ({ stream: 'stderr' as const, line, time: new Date(Number(T / 1_000_000n)), timeNano: T });
    const one = (line: Buffer) => {
      const batch = newLineBatch(line, 1);
      batch.times.push(T);
      pushLine(batch, 0, line.length, LOG_LINE_STDERR, 0);
      return batch;
    };
    // A plain 20 MB line, and a 3 MB one whose escaping (6 bytes each) would need 18 MB.
    const plain = Buffer.alloc(20 << 20, 0x7a);
    assert.ok(marshalBatch(one(plain)).data.equals(marshalEntry(entry(plain))));
    const controls = Buffer.alloc(3 << 20, 0x01);
    controls.write('plain start', 0);
    assert.ok(marshalBatch(one(controls)).data.equals(marshalEntry(entry(controls))));
    assert.ok(lineEncoder()!.memory.buffer.byteLength <= (16 << 20) + 65536, `memory ${lineEncoder()!.memory.buffer.byteLength}`);
  });

  it('decodes stored lines in place to what JSON.parse (decodeEntry) gives, fast path or not', () => {
    const r = rng(9);
    const lines: Buffer[] = [];
    for (let round = 0; round < 60; round++) {
      const { entries } = randomBatch(r, 30);
      for (const e of entries) lines.push(marshalEntry(e, round % 4 === 0 ? '{"a":"b","c":"d é"}' : undefined).subarray(0, -1));
    }
    const hand = [
      '{"log":"tab\\there \\/ \\b\\f \\u00e9 \\u00E9 \\uD83D\\ude00 \\"q\\" \\\\\\n","stream":"stdout","time":"2026-11-18T11:06:40.5Z"}',
      '{"log":"lone \\ud800x \\udc00 \\ud800\\u0041 end","stream":"stderr","time":"2026-11-18T11:06:40.5Z"}',
      '{"log":"hi\\n","time":"2026-11-18T11:06:40.5Z","stream":"stdout"}',
      '{"stream":"stdout","time":"2026-11-18T11:06:40.6Z"}',
      '{"log":"raw \u00e9 and \u2028 kept\\n","stream":"stdout","time":"2026-11-18T11:06:40.7Z"}',
      '{"log":"bad escape \\x\\n","stream":"stdout","time":"2026-11-18T11:06:40.7Z"}',
      '{"log":"torn\\n","str',
      '{"log":"no time at all\\n","stream":"stdout"}',
      '{"log":"bad time\\n","stream":"stdout","time":"yesterday"}',
      '{"log":"x\\n","stream":"stdin","time":"2026-11-18T11:06:40.5Z"}',
      '{"log":"attrs then time\\n","stream":"stdout","attrs":{"k":"v"},"time":"2026-11-18T11:06:40.8+01:00"}',
      'null',
      '',
    ].map((s) => Buffer.from(s));
    // Raw invalid UTF-8 in a stored line (never written by dockerd): copied as it is when the line needs no
    // unescaping; with an escape, JSON.parse's U+FFFD for each byte grows the text past the line.
    hand.push(Buffer.concat([Buffer.from('{"log":"'), Buffer.alloc(60, 0xff), Buffer.from('\\n","stream":"stdout","time":"2026-11-18T11:06:40.9Z"}')]));
    hand.push(Buffer.concat([Buffer.from('{"log":"\\t'), Buffer.alloc(60, 0xff), Buffer.from('\\n","stream":"stdout","time":"2026-11-18T11:06:40.9Z"}')]));
    hand.push(Buffer.concat([Buffer.from('{"log":"a'), Buffer.from([0xc3]), Buffer.from('b\\n","stream":"stdout","time":"2026-11-18T11:06:40.9Z"}')]));
    hand.push(Buffer.concat([Buffer.from('{"log":"ctl'), Buffer.from([0x01]), Buffer.from('\\n","stream":"stdout","time":"2026-11-18T11:06:40.9Z"}')]));
    for (let i = 0; i < hand.length; i++) lines.splice(i * 37, 0, hand[i]!);

    const block = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const original = Buffer.from(block);
    const dec = new JsonLineDecoder();
    let at = 0;
    const kinds = new Set<string>();
    for (const l of lines) {
      const start = at;
      const end = at + l.length;
      at = end + 1;
      const want = decodeEntry(original.subarray(start, end));
      const kind = dec.decode(block, start, end);
      kinds.add(kind);
      const where = `line ${JSON.stringify(original.toString('latin1', start, end))}`;
      if (!want) {
        assert.equal(kind, 'skip', where);
        continue;
      }
      const got = kind === 'entry' ? dec.entry!.line : kind === 'line' ? block.subarray(dec.bodyStart, dec.bodyEnd) : undefined;
      assert.ok(got, `${where}: ${kind}`);
      assert.deepEqual(got, want.line, where);
      assert.equal((dec.flags & LOG_LINE_STDERR) !== 0, want.stream === 'stderr', where);
      assert.equal((dec.flags & LOG_LINE_PARTIAL) !== 0, want.partial === true, where);
      assert.equal(dec.nano, want.timeNano, where);
      assert.deepEqual(dec.attrs, want.attrs, where);
      // Nothing after the line was touched.
      assert.deepEqual(block.subarray(end), original.subarray(end), where);
    }
    assert.deepEqual([...kinds].sort(), ['entry', 'line', 'skip']);
  });

  it('tells a caller when the time changed by a number, also around lines JSON.parse decodes', () => {
    const T = '2026-11-18T11:06:40.5Z';
    const lines = [
      `{"log":"a\\n","stream":"stdout","time":"${T}"}`,
      `{"log":"b\\n","time":"2026-11-18T11:06:41Z","stream":"stdout"}`,
      `{"log":"c\\n","stream":"stdout","time":"${T}"}`,
      `{"log":"d\\n","stream":"stdout","time":"${T}"}`,
    ].map((s) => Buffer.from(s));
    const dec = new JsonLineDecoder();
    const seen: Array<[bigint, number]> = [];
    for (const l of lines) {
      assert.equal(dec.decode(l, 0, l.length), 'line');
      seen.push([dec.nano, dec.timeGeneration]);
    }
    assert.notEqual(seen[0]![1], seen[1]![1]);
    assert.notEqual(seen[1]![1], seen[2]![1], 'the line after a JSON.parse one is a new time again');
    assert.equal(seen[2]![1], seen[3]![1]);
    assert.equal(seen[2]![0], seen[0]![0]);
  });
});

describe('json-file writer: many lines in one write', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-jsonbatch-'));
    path = join(dir, 'abc-json.log');
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  /** What a writer leaves: every file's bytes, by name. */
  async function files(d: string): Promise<Record<string, Buffer>> {
    const out: Record<string, Buffer> = {};
    for (const name of (await readdir(d)).sort()) out[name] = await readFile(join(d, name));
    return out;
  }

  it('rotates at the same lines as one write per line', async () => {
    const r = rng(21);
    for (const opts of [{ maxSize: 700, maxFiles: 3, compress: false }, { maxSize: 1, maxFiles: 2, compress: false }, { maxSize: 5000, maxFiles: 4, compress: true }, { maxSize: -1, maxFiles: 1, compress: false }]) {
      const { batch, entries } = randomBatch(r, 120);
      const one = join(dir, 'one');
      const many = join(dir, 'many');
      await rm(one, { recursive: true, force: true });
      await rm(many, { recursive: true, force: true });
      await (await import('node:fs/promises')).mkdir(one);
      await (await import('node:fs/promises')).mkdir(many);
      const a = await LogFileWriter.open(join(one, 'c-json.log'), opts, silentLogger);
      for (const e of entries) a.write(marshalEntry(e), e.timeNano!);
      await a.close();
      const b = await LogFileWriter.open(join(many, 'c-json.log'), opts, silentLogger);
      // Two batches, the second queued while the first is being written.
      const enc = marshalBatch(batch);
      const half = 50;
      b.writeLines(enc.data.subarray(0, enc.ends[half - 1]), enc.ends.subarray(0, half), half, (i) => batch.times[batch.timeIndex[i]!]!);
      const rest = enc.ends.subarray(half).map((x) => x - enc.ends[half - 1]!);
      b.writeLines(enc.data.subarray(enc.ends[half - 1]), rest, batch.count - half, (i) => batch.times[batch.timeIndex[i + half]!]!);
      await b.close();
      const fa = await files(one);
      const fb = await files(many);
      assert.deepEqual(Object.keys(fb), Object.keys(fa), JSON.stringify(opts));
      for (const name of Object.keys(fa)) {
        if (name.endsWith('.gz')) {
          assert.deepEqual(gunzipSync(fb[name]!), gunzipSync(fa[name]!), `${name} ${JSON.stringify(opts)}`);
          const [ha, hb] = [await open(join(one, name)), await open(join(many, name))];
          try {
            assert.equal(await compressedLastTime(hb), await compressedLastTime(ha), `${name}: the last entry's time in the header`);
          } finally {
            await ha.close();
            await hb.close();
          }
        } else {
          assert.deepEqual(fb[name], fa[name], `${name} ${JSON.stringify(opts)}`);
        }
      }
    }
    void path;
  });
});
