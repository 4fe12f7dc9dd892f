import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type LogEntry, type LogReadOptions } from '../../../kernel/index.js';
import { LogFileWriter } from '../../../plugins/log-json-file/log-file-writer.js';
import { marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import { readLogFile } from '../../../plugins/log-json-file/log-file-reader.js';
import type { RotationOptions } from '../../../plugins/log-json-file/log-options.js';

const T0 = BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n;
const sec = (i: number) => T0 + BigInt(i) * 1_000_000_000n;

function encode(i: number, opts: { stream?: 'stdout' | 'stderr'; time?: bigint; text?: string } = {}): { data: Buffer; time: bigint } {
  const time = opts.time ?? sec(i);
  const data = marshalEntry({ stream: opts.stream ?? 'stdout', line: Buffer.from(opts.text ?? `line ${i}`), time: new Date(0), timeNano: time });
  return { data, time };
}

async function collect(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(e.line.toString());
  return out;
}

/** Ends a follow that a failing test would otherwise leave running (and the run hanging). */
const guard = () => AbortSignal.timeout(20_000);

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `line ${from + k}`);

/** Resolves when `pred` holds, polling; fails the test after `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('json-file reading', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-jsonread-'));
    path = join(dir, 'c0ffee-json.log');
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  /** Writes lines from..to-1 (one second apart) through a writer with `rot`, then closes it. */
  async function writeLines(rot: RotationOptions, from: number, to: number): Promise<void> {
    const w = await LogFileWriter.open(path, rot, silentLogger);
    for (let i = from; i < to; i++) { const l = encode(i); w.write(l.data, l.time); }
    await w.close();
  }
  const read = (maxFiles: number, opts: LogReadOptions = {}) => collect(readLogFile(path, maxFiles, opts));

  it('reads every entry with stream, time and partial flags back', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    w.write(marshalEntry({ stream: 'stdout', line: Buffer.from('out'), time: new Date(0), timeNano: sec(1) }), sec(1));
    w.write(marshalEntry({ stream: 'stderr', line: Buffer.from('err'), time: new Date(0), timeNano: sec(2) + 5n }), sec(2));
    w.write(marshalEntry({ stream: 'stdout', line: Buffer.from('chunk'), partial: true, time: new Date(0), timeNano: sec(3) }), sec(3));
    await w.close();
    const entries: LogEntry[] = [];
    for await (const e of readLogFile(path, 1)) entries.push(e);
    assert.deepEqual(entries.map((e) => [e.stream, e.line.toString(), e.timeNano, e.partial ?? false]), [
      ['stdout', 'out', sec(1), false], ['stderr', 'err', sec(2) + 5n, false], ['stdout', 'chunk', sec(3), true],
    ]);
    assert.equal(entries[1]!.time.getTime(), Number(sec(2) / 1_000_000n));
  });

  it('a missing log reads as empty', async () => {
    assert.deepEqual(await read(3), []);
    assert.deepEqual(await read(3, { tail: 5 }), []);
  });

  it('reads across rotated files oldest first, plain and gzipped', async () => {
    // Lines are 67-69 bytes: with max-size 100 every file holds two.
    await writeLines({ maxSize: 100, maxFiles: 4, compress: false }, 0, 10);
    assert.deepEqual((await readdir(dir)).sort(), ['c0ffee-json.log', 'c0ffee-json.log.1', 'c0ffee-json.log.2', 'c0ffee-json.log.3']);
    assert.deepEqual(await read(4), names(2, 10), 'lines 0 and 1 fell off with the oldest file');
    assert.deepEqual(await read(2), names(6, 10), 'max-file bounds what is read');
    path = join(dir, 'gz-json.log');
    await writeLines({ maxSize: 100, maxFiles: 4, compress: true }, 0, 7);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('gz-')).sort(), ['gz-json.log', 'gz-json.log.1.gz', 'gz-json.log.2.gz', 'gz-json.log.3.gz']);
    assert.deepEqual(await read(4), names(0, 7));
  });

  it('tail counts lines from the end across files; 0 gives none; more than stored gives all', async () => {
    await writeLines({ maxSize: 100, maxFiles: 5, compress: true }, 0, 11);
    assert.deepEqual(await read(5, { tail: 1 }), ['line 10']);
    assert.deepEqual(await read(5, { tail: 4 }), names(7, 11));
    assert.deepEqual(await read(5, { tail: 0 }), []);
    assert.deepEqual(await read(5, { tail: 100 }), names(2, 11));
    assert.deepEqual(await read(5, { tail: -1 }), names(2, 11));
  });

  it('tail works on lines far longer than one read block', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    for (let i = 0; i < 5; i++) { const l = encode(i, { text: `${i}`.repeat(100_000) }); w.write(l.data, l.time); }
    await w.close();
    const got = await read(1, { tail: 2 });
    assert.deepEqual(got.map((l) => [l[0], l.length]), [['3', 100_000], ['4', 100_000]]);
  });

  it('since and until select by time; since stops filtering after the first match, as dockerd', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    for (const [i, t] of [[0, 0], [1, 10], [2, 5], [3, 20], [4, 30]] as const) {
      const l = encode(i, { time: sec(t) });
      w.write(l.data, l.time);
    }
    await w.close();
    assert.deepEqual(await read(1, { since: sec(10) }), ['line 1', 'line 2', 'line 3', 'line 4'], 'line 2 (t=5) follows a match, so it stays');
    assert.deepEqual(await read(1, { until: sec(10) }), ['line 0', 'line 1', 'line 2'], 'reading stops at the first entry after until');
    assert.deepEqual(await read(1, { since: sec(11), until: sec(25) }), ['line 3']);
    assert.deepEqual(await read(1, { since: new Date(Number(sec(20) / 1_000_000n)) }), ['line 3', 'line 4'], 'a Date works too');
    assert.deepEqual(await read(1, { tail: 2, since: sec(25) }), ['line 4'], 'tail first, then since');
  });

  it('never decompresses a rotated file it does not need: before since, or older than the tail', async () => {
    await writeLines({ maxSize: 100, maxFiles: 3, compress: true }, 0, 5);
    // Corrupt the body of .2.gz (lines 0-1) after its header: decompressing it would fail.
    const gz = await readFile(`${path}.2.gz`);
    const xlen = gz.readUInt16LE(10);
    gz.fill(0x55, 12 + xlen + 2);
    await writeFile(`${path}.2.gz`, gz);
    assert.deepEqual(await read(3, { since: sec(2) }), ['line 2', 'line 3', 'line 4']);
    assert.deepEqual(await read(3, { tail: 3 }), ['line 2', 'line 3', 'line 4'], 'a tail that newer files satisfy leaves older ones alone');
    await assert.rejects(read(3), (e: Error & { code?: string }) => /^Z_/.test(e.code ?? ''), 'without since the corrupt file is decompressed and fails');
  });

  it('skips torn lines (a crash mid-write) and keeps reading', async () => {
    await writeFile(path, Buffer.concat([encode(0).data, Buffer.from('{"log":"half'), Buffer.from('\n'), encode(1).data, Buffer.from('{"log":"tail, no newline')]));
    assert.deepEqual(await read(1), ['line 0', 'line 1']);
    assert.deepEqual(await read(1, { tail: 1 }), [], 'the torn last piece counts as the last line, as dockerd counts lines');
  });

  it('follow streams new entries and ends when the writer closes', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    for (let i = 0; i < 3; i++) { const l = encode(i); w.write(l.data, l.time); }
    await w.flush();
    const got: string[] = [];
    const done = (async () => { for await (const e of readLogFile(path, 1, { follow: true, tail: 1, signal: guard() })) got.push(e.line.toString()); })();
    await until(() => got.length === 1);
    assert.deepEqual(got, ['line 2']);
    for (let i = 3; i < 6; i++) { const l = encode(i); w.write(l.data, l.time); }
    await until(() => got.length === 4);
    const l = encode(6);
    w.write(l.data, l.time);
    await w.close();
    await done;
    assert.deepEqual(got, ['line 2', ...names(3, 7)], 'what was written before close is all delivered');
  });

  it('follow with tail 0 starts at the end', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    for (let i = 0; i < 3; i++) { const l = encode(i); w.write(l.data, l.time); }
    await w.flush();
    const got: string[] = [];
    const done = (async () => { for await (const e of readLogFile(path, 1, { follow: true, tail: 0, signal: guard() })) got.push(e.line.toString()); })();
    await new Promise((r) => setTimeout(r, 30));
    const l = encode(3);
    w.write(l.data, l.time);
    await w.close();
    await done;
    assert.deepEqual(got, ['line 3']);
  });

  it('follow survives rotations, compressed or not, losing and repeating nothing', async () => {
    for (const compress of [false, true]) {
      const p = join(dir, `rot-${compress}-json.log`);
      const w = await LogFileWriter.open(p, { maxSize: 300, maxFiles: 3, compress }, silentLogger);
      const got: string[] = [];
      const done = (async () => { for await (const e of readLogFile(p, 3, { follow: true, signal: guard() })) got.push(e.line.toString()); })();
      for (let i = 0; i < 200; i++) {
        const l = encode(i);
        w.write(l.data, l.time);
        // Bursts of 5 lines (~350 bytes) rotate once or twice while the follow is parked or
        // mid-read; the follow catches up before the next burst. A follow that falls more than
        // max-file files behind loses the files rotated away (dockerd's too), so the test must
        // not leave the pace to the scheduler (under load the writer ran ahead and files went).
        if (i % 5 === 4) await until(() => got.length >= i + 1, 20_000);
      }
      await w.close();
      await done;
      assert.deepEqual(got, names(0, 200), `compress=${compress}`);
      assert.ok((await readdir(dir)).some((f) => f.startsWith(`rot-${compress}-json.log.`)), 'rotations happened');
    }
  });

  it('a follow that sleeps through several rotations reads the files it missed', async () => {
    for (const compress of [false, true]) {
      const p = join(dir, `sleepy-${compress}-json.log`);
      const w = await LogFileWriter.open(p, { maxSize: 100, maxFiles: 5, compress }, silentLogger);
      const l0 = encode(0);
      w.write(l0.data, l0.time);
      await w.flush();
      const it = readLogFile(p, 5, { follow: true, signal: guard() })[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.line.toString(), 'line 0');
      // The reader is not pulled while three rotations happen (two lines per file).
      for (let i = 1; i < 8; i++) { const l = encode(i); w.write(l.data, l.time); }
      await w.close();
      const rest: string[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.line.toString());
      assert.deepEqual(rest, names(1, 8), `compress=${compress}`);
    }
  });

  it('follow ends on abort, and at the first entry after until', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => { for await (const e of readLogFile(path, 1, { follow: true, signal: AbortSignal.any([ac.signal, guard()]) })) got.push(e.line.toString()); })();
    const l0 = encode(0);
    w.write(l0.data, l0.time);
    await until(() => got.length === 1);
    ac.abort();
    await done;
    const untilDone = collect(readLogFile(path, 1, { follow: true, until: sec(1), signal: guard() }));
    for (let i = 1; i < 4; i++) { const l = encode(i); w.write(l.data, l.time); }
    assert.deepEqual(await untilDone, ['line 0', 'line 1']);
    await w.close();
  });

  it('follows a file another process appends to (no writer in this process), until aborted', async () => {
    await writeFile(path, encode(0).data);
    const ac = new AbortController();
    const got: string[] = [];
    const done = (async () => { for await (const e of readLogFile(path, 1, { follow: true, signal: AbortSignal.any([ac.signal, guard()]) })) got.push(e.line.toString()); })();
    await until(() => got.length === 1);
    const half = encode(1).data;
    await appendFile(path, half.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(got, ['line 0'], 'half a line is not delivered');
    await appendFile(path, Buffer.concat([half.subarray(10), encode(2).data]));
    await until(() => got.length === 3);
    ac.abort();
    await done;
    assert.deepEqual(got, names(0, 3));
  });

  it('a follow asked for while the writer is open ends when it closes, even if it closed before the first read', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    const l0 = encode(0);
    w.write(l0.data, l0.time);
    // The API route asks for the read, then awaits (headers, attach) before it pulls: the container can exit in between.
    const it = readLogFile(path, 1, { follow: true, signal: guard() });
    const l1 = encode(1);
    w.write(l1.data, l1.time);
    await w.close();
    const started = Date.now();
    assert.deepEqual(await collect(it), ['line 0', 'line 1']);
    assert.ok(Date.now() - started < 10_000, 'ended with the writer, not at the guard\'s abort');
  });

  it('follow with tail 0 starts at what was logged when it was asked for, not when it first reads', async () => {
    const w = await LogFileWriter.open(path, { maxSize: 200, maxFiles: 3, compress: false }, silentLogger);
    for (let i = 0; i < 2; i++) { const l = encode(i); w.write(l.data, l.time); }
    await w.flush();
    const it = readLogFile(path, 3, { follow: true, tail: 0, signal: guard() });
    // Written (and rotated once) before the follow's first read: all of it is after the request.
    for (let i = 2; i < 6; i++) { const l = encode(i); w.write(l.data, l.time); }
    await w.flush();
    assert.ok((await readdir(dir)).includes('c0ffee-json.log.1'), 'a rotation happened before the first read');
    const got: string[] = [];
    const done = (async () => { for await (const e of it) got.push(e.line.toString()); })();
    await until(() => got.length === 4, 20_000);
    await w.close();
    await done;
    assert.deepEqual(got, names(2, 6));
  });

  it('many followers of one file each get every entry', async () => {
    const w = await LogFileWriter.open(path, { maxSize: 500, maxFiles: 2, compress: false }, silentLogger);
    const results = Array.from({ length: 20 }, () => collect(readLogFile(path, 2, { follow: true, tail: 0, signal: guard() })));
    await new Promise((r) => setTimeout(r, 30));
    for (let i = 0; i < 30; i++) { const l = encode(i); w.write(l.data, l.time); await w.flush(); }
    await w.close();
    for (const r of await Promise.all(results)) assert.deepEqual(r, names(0, 30));
  });
});
