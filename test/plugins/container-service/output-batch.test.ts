import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { silentLogger, type ContainerLogger, type LogEntry, type LogLineBatch } from '../../../kernel/index.js';
import { CriTimeCache, parseRfc3339Nano, scanCriLines, scanCriLinesJs, splitCriLine } from '../../../lib/cri-log.js';
import { criScanner } from '../../../lib/cri-scan-wasm.js';
import { batchEntries, newLineBatch } from '../../../lib/log-line-batch.js';
import { joinLines, OutputPump } from '../../../plugins/container-service/output-pump.js';
import { JsonFileDriver } from '../../../plugins/log-json-file/json-file-driver.js';
import { marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import { rng } from '../../helpers/rng.js';


/** Spool lines as conmon writes them, mixed with lines a reader must skip. */
function spoolLines(r: () => number, n: number): string[] {
  const times = ['2026-11-27T19:04:51.123456789+00:00', '2026-11-27T19:04:51.123456789+00:00', '2026-11-27T20:04:51.5+01:00', '2026-11-27T19:04:52Z', '2026-11-27T19:04:52.000000001Z'];
  const bodies = ['hello', '', 'tab\there "quoted" <&>', 'ünïcödé ✓', 'x'.repeat(300), ' leading space'];
  const odd = ['garbage', '2026-11-27T19:04:52Z stdin F nope', '2026-11-27T19:04:52Z stdout X nope', 'not-a-time stdout F dropped', '2026-11-27T19:04:52Z stdout', '2026-11-27T19:04:52Z stdout F', '2026-11-27T19:04:52Z stderr PXglued'];
  const out: string[] = [];
  let t = times[0]!;
  for (let i = 0; i < n; i++) {
    if (r() < 0.1) { out.push(odd[Math.floor(r() * odd.length)]!); continue; }
    if (r() < 0.2) t = times[Math.floor(r() * times.length)]!;
    const stream = r() < 0.3 ? 'stderr' : 'stdout';
    const tag = r() < 0.2 ? 'P' : 'F';
    out.push(`${t} ${stream} ${tag} ${bodies[Math.floor(r() * bodies.length)]}`);
  }
  return out;
}

class Collect extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void { this.chunks.push(c); cb(); }
  bytes(): Buffer { return Buffer.concat(this.chunks); }
}

describe('spool lines in batches', () => {
  const dirs: string[] = [];
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('scans a read buffer to the lines, streams, tags and times splitCriLine gives line by line', () => {
    const r = rng(7);
    const cache = new CriTimeCache();
    for (let round = 0; round < 50; round++) {
      const lines = spoolLines(r, 80);
      const torn = '2026-11-27T19:04:52Z stdout F torn';
      const buf = Buffer.from(`${lines.join('\n')}\n${torn}`);
      const batch = newLineBatch(buf, 4);
      const consumed = scanCriLines(buf, buf.length, batch, cache);
      assert.equal(consumed, buf.length - torn.length, 'a line without its newline is left for the next read');
      const want = lines.flatMap((l) => {
        const f = splitCriLine(Buffer.from(l));
        const nano = f && parseRfc3339Nano(f.timeText);
        return f && nano !== undefined ? [{ stream: f.stream, partial: f.partial, body: f.body.toString(), nano }] : [];
      });
      const got = [];
      for (let i = 0; i < batch.count; i++) {
        got.push({ stream: batch.flags[i]! & 1 ? 'stderr' : 'stdout', partial: (batch.flags[i]! & 2) !== 0, body: buf.toString('utf8', batch.start[i], batch.end[i]), nano: batch.times[batch.timeIndex[i]!]! });
      }
      assert.deepEqual(got, want, `round ${round}`);
    }
  });

  it('takes same-header runs with the WebAssembly scanner into the very batch the JavaScript scan makes', () => {
    assert.ok(criScanner(), 'WebAssembly SIMD is available on this node (else only the JavaScript path is tested)');
    const r = rng(23);
    const times = ['2026-11-27T19:04:51.123456789Z', '2026-11-27T19:04:51.123456788Z', '2026-11-27T19:04:52Z', '2026-11-27T20:04:51.5+01:00'];
    for (let round = 0; round < 300; round++) {
      const parts: string[] = [];
      let t = times[0]!;
      let stream = 'stdout';
      let tag = 'F';
      const n = 50 + Math.floor(r() * 400);
      for (let i = 0; i < n; i++) {
        // Long runs of one header (conmon's lines of one read), now and then a new one or an odd line.
        if (r() < 0.05) t = times[Math.floor(r() * times.length)]!;
        if (r() < 0.03) stream = stream === 'stdout' ? 'stderr' : 'stdout';
        if (r() < 0.03) tag = tag === 'F' ? 'P' : 'F';
        const x = r();
        if (x < 0.02) { parts.push('garbage'); continue; }
        if (x < 0.03) { parts.push(`${t} ${stream}`); continue; }
        if (x < 0.04) { parts.push(''); continue; }
        // Bodies of every length around the 16-byte steps, with bytes the newline search must not stop at.
        const len = Math.floor(r() * 70);
        parts.push(`${t} ${stream} ${tag} ${Array.from({ length: len }, () => String.fromCharCode(r() < 0.1 ? 0x09 : 0x20 + Math.floor(r() * 95))).join('')}`);
      }
      const torn = r() < 0.5 ? `${t} ${stream} ${tag} torn` : '';
      const text = Buffer.from(`${parts.join('\n')}\n${torn}`);
      // The read sits inside a bigger buffer (the pump's), sometimes at an offset of the scan's 16-byte steps.
      const buf = Buffer.alloc(text.length + 40, 0x0a);
      text.copy(buf);
      const a = newLineBatch(buf, 8);
      const b = newLineBatch(buf, 8);
      const ca = scanCriLines(buf, text.length, a, new CriTimeCache());
      const cb = scanCriLinesJs(buf, text.length, b, new CriTimeCache());
      assert.equal(ca, cb, `round ${round}: consumed`);
      assert.equal(a.count, b.count, `round ${round}: lines`);
      assert.deepEqual([...a.start.subarray(0, a.count)], [...b.start.subarray(0, b.count)], `round ${round}: starts`);
      assert.deepEqual([...a.end.subarray(0, a.count)], [...b.end.subarray(0, b.count)], `round ${round}: ends`);
      assert.deepEqual([...a.flags.subarray(0, a.count)], [...b.flags.subarray(0, b.count)], `round ${round}: flags`);
      assert.deepEqual([...a.timeIndex.subarray(0, a.count)], [...b.timeIndex.subarray(0, b.count)], `round ${round}: times`);
      assert.deepEqual(a.times, b.times);
    }
  });

  it('pumps a spool to a json-file log and framed clients byte for byte, stdout and stderr apart, partial lines joined', async () => {
    const r = rng(11);
    const dir = await mkdtemp(join(tmpdir(), 'berth-pumpbatch-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    // More than one read of the pump, so lines torn across reads are joined again.
    const lines = spoolLines(r, 6000);
    await writeFile(spool, `${lines.join('\n')}\n`);
    const driver = new JsonFileDriver('json-file', {}, silentLogger);
    const info = { containerId: 'c1', dir, config: {} };
    const logger = await driver.open(info);
    const out = new Collect();
    const err = new Collect();
    const pump = new OutputPump(spool, 0, { terminal: false, logger });
    pump.subscribe({ stdout: out, stderr: err, end: () => undefined });
    await pump.finish();
    await logger.close();

    const parsed = lines.flatMap((l) => {
      const f = splitCriLine(Buffer.from(l));
      const nano = f && parseRfc3339Nano(f.timeText);
      return f && nano !== undefined ? [{ ...f, nano }] : [];
    });
    const text = (s: 'stdout' | 'stderr') => Buffer.concat(parsed.filter((p) => p.stream === s).flatMap((p) => (p.partial ? [p.body] : [p.body, Buffer.from('\n')])));
    assert.deepEqual(out.bytes(), text('stdout'));
    assert.deepEqual(err.bytes(), text('stderr'));
    const want = Buffer.concat(parsed.map((p) => {
      const e: LogEntry = { stream: p.stream, line: p.body, time: new Date(0), timeNano: p.nano };
      if (p.partial) e.partial = true;
      return marshalEntry(e);
    }));
    assert.deepEqual(await readFile(driver.logPath(info)), want, 'the log holds what one marshalEntry per line writes');

    // Read back in batches and entry by entry: the same lines.
    const reader = driver.reader(info);
    const fromBatches: string[] = [];
    for await (const b of reader.readBatches!({}) as AsyncIterable<LogLineBatch>) {
      for (let i = 0; i < b.count; i++) fromBatches.push(`${b.flags[i]}:${b.times[b.timeIndex[i]!]}:${b.data.toString('latin1', b.start[i], b.end[i])}`);
    }
    const fromEntries: string[] = [];
    for await (const e of batchEntries(reader.readBatches!({ tail: -1 }))) fromEntries.push(`${(e.stream === 'stderr' ? 1 : 0) | (e.partial ? 2 : 0)}:${e.timeNano}:${e.line.toString('latin1')}`);
    const wantLines = parsed.map((p) => `${(p.stream === 'stderr' ? 1 : 0) | (p.partial ? 2 : 0)}:${p.nano}:${p.body.toString('latin1')}`);
    assert.deepEqual(fromBatches, wantLines);
    assert.deepEqual(fromEntries, wantLines);
  });

  it('follows a spool that grows in small appends, lines torn between them, and one replaced by a new (shorter) file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pumpfollow-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, '');
    const out = new Collect();
    const pump = new OutputPump(spool, 0, { terminal: false });
    pump.subscribe({ stdout: out, stderr: out, end: () => undefined });
    /** Waits (generously: a loaded machine) until the client holds `want`. */
    const until = async (want: string) => {
      for (let t = 0; t < 600 && out.bytes().toString('latin1') !== want; t++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(out.bytes().toString('latin1'), want);
    };
    const text = Array.from({ length: 3000 }, (_, i) => `2026-11-27T19:00:00Z stdout F line ${i} ${'z'.repeat(i % 97)}\n`).join('');
    let want = '';
    for (let at = 0; at < text.length;) {
      const n = 1 + ((at * 7919) % 40000); // pieces from 1 byte to ~40 KB, most ending inside a line
      await appendFile(spool, text.slice(at, at + n));
      at += n;
    }
    for (let i = 0; i < 3000; i++) want += `line ${i} ${'z'.repeat(i % 97)}\n`;
    await until(want);
    // The monitor reopened its spool: a new file in its place, shorter than what was read.
    await writeFile(`${spool}.new`, '2026-11-27T19:00:01Z stderr F after the reopen\n');
    await rename(`${spool}.new`, spool);
    await until(`${want}after the reopen\n`);
    await pump.finish();
  });

  it('sends a TTY\'s lines (both streams) to stdout only, in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pumpbatch-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, '2026-11-27T19:00:00Z stdout P a\n2026-11-27T19:00:00Z stderr F b\n2026-11-27T19:00:00Z stdout F c\r\n');
    const out = new Collect();
    const err = new Collect();
    const pump = new OutputPump(spool, 0, { terminal: true });
    pump.subscribe({ stdout: out, stderr: err, end: () => undefined });
    await pump.finish();
    assert.equal(out.bytes().toString(), 'ab\nc\r\n');
    assert.equal(err.bytes().length, 0);
  });
  it('joins a run in place into a view and moves each line\'s range with it, so the log encodes the same bytes after', () => {
    const r = rng(23);
    const cache = new CriTimeCache();
    for (let round = 0; round < 30; round++) {
      const lines = spoolLines(r, 120);
      const buf = Buffer.from(`${lines.join('\n')}\n`);
      const batch = newLineBatch(buf, 8);
      scanCriLines(buf, buf.length, batch, cache);
      const before = Array.from({ length: batch.count }, (_, i) => buf.toString('latin1', batch.start[i], batch.end[i]));
      // Runs of same-stream lines, joined in order as the pump does.
      const views: Array<[Buffer, string]> = [];
      let runStart = 0;
      for (let i = 1; i <= batch.count; i++) {
        if (i < batch.count && (batch.flags[i]! & 1) === (batch.flags[runStart]! & 1)) continue;
        const want = before.slice(runStart, i).map((l, k) => ((batch.flags[runStart + k]! & 2) ? l : `${l}\n`)).join('');
        views.push([joinLines(batch, runStart, i), want]);
        runStart = i;
      }
      // No later run wrote into an earlier run's view; every line's range still holds its bytes.
      for (const [view, want] of views) assert.equal(view.toString('latin1'), want, `round ${round}`);
      for (const [view] of views) assert.equal(view.buffer, buf.buffer, 'a view into the read buffer, no copy');
      const after = Array.from({ length: batch.count }, (_, i) => buf.toString('latin1', batch.start[i], batch.end[i]));
      assert.deepEqual(after, before, `round ${round}`);
    }
  });

  it('hands a read to the clients before the logger encodes it, and the clients\' bytes survive the next reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pumpbatch-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    const line = (i: number) => `2026-11-27T19:00:00Z stdout F line ${i} ${'y'.repeat(90)}`;
    const n = 12000; // about 1.5 MB of spool: several reads, each into its own buffer
    await writeFile(spool, `${Array.from({ length: n }, (_, i) => line(i)).join('\n')}\n`);
    const out = new Collect();
    const seenAtEncode: number[] = [];
    let logged = 0;
    const batches = new Set<LogLineBatch>();
    const arrays = new Set<ArrayBufferLike>();
    const logger: ContainerLogger = {
      path: '',
      write: () => { throw new Error('the pump writes batches'); },
      writeBatch: (b) => {
        // What the client holds now must already include this batch's last line.
        const got = out.bytes().toString('latin1');
        const last = b.data.toString('latin1', b.start[b.count - 1], b.end[b.count - 1]);
        seenAtEncode.push(got.endsWith(`${last}\n`) ? 1 : 0);
        logged += b.count;
        batches.add(b);
        arrays.add(b.start.buffer);
      },
      flush: async () => undefined,
      close: async () => undefined,
      read: () => { throw new Error('unused'); },
    };
    const pump = new OutputPump(spool, 0, { terminal: false, logger });
    pump.subscribe({ stdout: out, stderr: out, end: () => undefined });
    await pump.finish();
    assert.equal(logged, n);
    assert.ok(seenAtEncode.length > 2, `several reads (${seenAtEncode.length})`);
    assert.ok(seenAtEncode.every((x) => x === 1), 'each batch reached the client before its encoding');
    assert.equal(batches.size, 1, 'one batch object for every read');
    assert.ok(arrays.size <= 2, `its arrays kept from read to read (${arrays.size} for ${seenAtEncode.length} reads)`);
    const want = Array.from({ length: n }, (_, i) => `line ${i} ${'y'.repeat(90)}\n`).join('');
    assert.equal(out.bytes().toString('latin1'), want, 'byte for byte, chunks kept from earlier reads intact');
  });
  it('empties the spool once finish has logged all of it; stop, and a finish whose log write failed, leave it whole', async () => {
    const text = Array.from({ length: 500 }, (_, i) => `2026-11-27T19:00:00Z stdout F line ${i}\n`).join('');
    const spoolWith = async (name: string) => {
      const dir = await mkdtemp(join(tmpdir(), `berth-pumpdiscard-${name}-`));
      dirs.push(dir);
      const spool = join(dir, 'output.log');
      await writeFile(spool, text);
      return spool;
    };
    const logLines = (failFlush: boolean) => {
      const lines: string[] = [];
      const logger: ContainerLogger = {
        path: '',
        write: () => { throw new Error('the pump writes batches'); },
        writeBatch: (b) => { for (let i = 0; i < b.count; i++) lines.push(b.data.toString('latin1', b.start[i], b.end[i])); },
        flush: async () => { if (failFlush) throw new Error('no space left on device'); },
        close: async () => undefined,
        read: () => { throw new Error('unused'); },
      };
      return { lines, logger };
    };
    const want = Array.from({ length: 500 }, (_, i) => `line ${i}`);

    // finish: every line logged and sent, then the spool is empty (its pages are never written back).
    const finished = await spoolWith('finish');
    const a = logLines(false);
    const out = new Collect();
    const offsets: number[] = [];
    const pump = new OutputPump(finished, 0, { terminal: false, logger: a.logger, onOffset: (n) => offsets.push(n) });
    pump.subscribe({ stdout: out, end: () => undefined });
    await pump.finish();
    assert.deepEqual(a.lines, want);
    assert.equal(out.bytes().toString('latin1'), want.map((l) => `${l}\n`).join(''));
    assert.equal(offsets.at(-1), Buffer.byteLength(text), 'the offset saved covers the whole spool');
    assert.equal(statSync(finished).size, 0);

    // stop (daemon shutdown, the task lives on): the spool stays for the next daemon to resume.
    const stopped = await spoolWith('stop');
    const b = logLines(false);
    const p2 = new OutputPump(stopped, 0, { terminal: false, logger: b.logger });
    await new Promise((r) => setTimeout(r, 200));
    await p2.stop();
    assert.equal(readFileSync(stopped, 'latin1'), text);

    // finish whose log flush failed: the lines may not be in the log, the spool is not touched.
    const failed = await spoolWith('fail');
    const c = logLines(true);
    await new OutputPump(failed, 0, { terminal: false, logger: c.logger }).finish();
    assert.equal(readFileSync(failed, 'latin1'), text);
  });

  it('reads small appends into the rest of one buffer, the clients\' earlier bytes intact, and a replacing file longer than what was read from its start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pumpwindow-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, '');
    const out = new Collect();
    const offsets: number[] = [];
    const pump = new OutputPump(spool, 0, { terminal: false, onOffset: (n) => offsets.push(n) });
    pump.subscribe({ stdout: out, end: () => undefined });
    const until = async (want: string) => {
      for (let t = 0; t < 600 && out.bytes().toString('latin1') !== want; t++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(out.bytes().toString('latin1'), want);
    };
    let want = '';
    let spoolBytes = 0;
    let prevTail = '';
    try {
      for (let i = 0; i < 40; i++) {
        // Each append ends inside a line: the torn part waits at the front of the next read's room.
        const full = `2026-11-27T19:00:00Z stdout F append ${i} ${'w'.repeat(i * 13)}\n`;
        const cut = 25 + (i % 7);
        await appendFile(spool, i === 0 ? full.slice(0, cut) : `${prevTail}${full.slice(0, cut)}`);
        spoolBytes += (i === 0 ? 0 : prevTail.length) + cut;
        prevTail = full.slice(cut);
        if (i > 0) {
          want += `append ${i - 1} ${'w'.repeat((i - 1) * 13)}\n`;
          await until(want);
        }
      }
      await appendFile(spool, prevTail);
      want += `append 39 ${'w'.repeat(39 * 13)}\n`;
      await until(want);
      assert.equal(offsets.at(-1), spoolBytes + prevTail.length, 'the offset saved covers every complete line');
      const buffers = new Set(out.chunks.map((c) => c.buffer));
      assert.ok(buffers.size < out.chunks.length / 4, `small reads share buffers (${buffers.size} for ${out.chunks.length} reads)`);
      // A new file renamed over the spool, longer than what was read of the old one: read from its start.
      const replacement = Array.from({ length: 1000 }, (_, i) => `2026-11-27T19:00:01Z stdout F new ${i}\n`).join('');
      assert.ok(replacement.length > spoolBytes);
      await writeFile(`${spool}.new`, replacement);
      await rename(`${spool}.new`, spool);
      want += Array.from({ length: 1000 }, (_, i) => `new ${i}\n`).join('');
      await until(want);
    } finally {
      await pump.finish();
    }
  });
});
