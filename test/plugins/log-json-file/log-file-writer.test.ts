import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../../kernel/index.js';
import { LogFileWriter } from '../../../plugins/log-json-file/log-file-writer.js';
import { marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import { compressedLastTime } from '../../../plugins/log-json-file/gzip-extra.js';
import { formatRfc3339Nano } from '../../../plugins/log-json-file/log-time.js';
import { open } from 'node:fs/promises';

const T0 = BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n;

/** One encoded line of exactly `size` bytes (log text padded), stamped T0 + i µs. */
function line(i: number, size = 100): { data: Buffer; time: bigint } {
  const time = T0 + BigInt(i) * 1000n;
  const bare = marshalEntry({ stream: 'stdout', line: Buffer.alloc(0), time: new Date(0), timeNano: time }).length;
  const text = `line ${i} `.padEnd(size - bare, 'x');
  const data = marshalEntry({ stream: 'stdout', line: Buffer.from(text), time: new Date(0), timeNano: time });
  assert.equal(data.length, size);
  return { data, time };
}

function logLines(text: string): string[] {
  return text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { log: string }).log.split(' ')[1]!);
}

describe('json-file writer and rotation', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-jsonlog-'));
    path = join(dir, 'abc-json.log');
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('appends lines, creates the file 0640, and appends again after a reopen', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    for (let i = 0; i < 3; i++) { const l = line(i); w.write(l.data, l.time); }
    await w.flush();
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['0', '1', '2']);
    await w.close();
    await w.close();
    assert.throws(() => w.write(line(9).data, 0n), /cannot write because the output file was closed/);
    const again = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    const l = line(3);
    again.write(l.data, l.time);
    await again.close();
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['0', '1', '2', '3']);
  });

  it('rotates as dockerd: at max-size before a write, .1 .2 shift, the oldest drops off', async () => {
    // 100-byte lines, max-size 250: a file takes 3 lines (0,100,200 < 250) before rotating.
    const w = await LogFileWriter.open(path, { maxSize: 250, maxFiles: 3, compress: false }, silentLogger);
    for (let i = 0; i < 10; i++) { const l = line(i); w.write(l.data, l.time); }
    await w.close();
    assert.deepEqual((await readdir(dir)).sort(), ['abc-json.log', 'abc-json.log.1', 'abc-json.log.2']);
    assert.deepEqual(logLines(await readFile(`${path}.2`, 'utf8')), ['3', '4', '5']);
    assert.deepEqual(logLines(await readFile(`${path}.1`, 'utf8')), ['6', '7', '8']);
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['9']);
  });

  it('rotates line by line in separate writes the same way as in one batch', async () => {
    const w = await LogFileWriter.open(path, { maxSize: 250, maxFiles: 2, compress: false }, silentLogger);
    for (let i = 0; i < 7; i++) { const l = line(i); w.write(l.data, l.time); await w.flush(); }
    await w.close();
    assert.deepEqual((await readdir(dir)).sort(), ['abc-json.log', 'abc-json.log.1']);
    assert.deepEqual(logLines(await readFile(`${path}.1`, 'utf8')), ['3', '4', '5']);
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['6']);
  });

  it('carves big batches from one arena, never over a piece still queued, and starts it over once all is written', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    const want: Buffer[] = [];
    let n = 0;
    /** A batch of `lines` 100-byte lines filled into room from the writer, queued as one. */
    const batch = (lines: number): Buffer => {
      const piece = w.room(lines * 100);
      const ends = new Uint32Array(lines);
      for (let k = 0; k < lines; k++) { const l = line(n++); l.data.copy(piece, k * 100); ends[k] = (k + 1) * 100; }
      want.push(Buffer.from(piece));
      w.writeLines(piece, ends, lines, () => T0);
      return piece;
    };
    // Many batches queued while the first writes are in flight: each gets its own bytes of the arena (or a new one).
    const pieces = Array.from({ length: 40 }, () => batch(300));
    assert.ok(new Set(pieces.map((p) => p.buffer)).size < pieces.length / 2, 'batches share arenas');
    await w.flush();
    // Idle again: the next batches start at the arena's front.
    const a = batch(200);
    await w.flush();
    const b = batch(200);
    assert.equal(a.buffer, b.buffer);
    assert.equal(a.byteOffset, b.byteOffset, 'the arena starts over once everything carved from it is written');
    // A small batch gets a buffer of its own.
    assert.notEqual(w.room(1000).buffer, b.buffer);
    await w.close();
    assert.deepEqual(await readFile(path), Buffer.concat(want));
  });

  it('with max-file 1 a full file is replaced, not kept', async () => {
    const w = await LogFileWriter.open(path, { maxSize: 150, maxFiles: 1, compress: false }, silentLogger);
    for (let i = 0; i < 5; i++) { const l = line(i); w.write(l.data, l.time); }
    await w.close();
    assert.deepEqual(await readdir(dir), ['abc-json.log']);
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['4']);
  });

  it('compresses rotated files to .N.gz with lastTime in the gzip header, readable by gzip itself', async () => {
    const w = await LogFileWriter.open(path, { maxSize: 250, maxFiles: 4, compress: true }, silentLogger);
    for (let i = 0; i < 10; i++) { const l = line(i); w.write(l.data, l.time); }
    await w.close();
    assert.deepEqual((await readdir(dir)).sort(), ['abc-json.log', 'abc-json.log.1.gz', 'abc-json.log.2.gz', 'abc-json.log.3.gz']);
    assert.deepEqual(logLines(gunzipSync(await readFile(`${path}.3.gz`)).toString()), ['0', '1', '2']);
    assert.deepEqual(logLines(gunzipSync(await readFile(`${path}.1.gz`)).toString()), ['6', '7', '8']);
    assert.equal((await stat(`${path}.1.gz`)).mode & 0o777, 0o640);
    assert.deepEqual(logLines(execFileSync('gzip', ['-dc', `${path}.2.gz`]).toString()), ['3', '4', '5'], 'gzip(1) accepts the member');
    const gz = await readFile(`${path}.1.gz`);
    const xlen = gz.readUInt16LE(10);
    assert.equal(gz[3]! & 4, 4, 'FEXTRA is set');
    assert.deepEqual(JSON.parse(gz.subarray(12, 12 + xlen).toString()), { lastTime: formatRfc3339Nano(line(8).time) });
    const fh = await open(`${path}.1.gz`, 'r');
    try {
      assert.equal(await compressedLastTime(fh), line(8).time);
    } finally {
      await fh.close();
    }
  });

  it('a file that already holds data counts toward max-size at open', async () => {
    await writeFile(path, Buffer.concat([line(0).data, line(1).data, line(2).data]));
    const w = await LogFileWriter.open(path, { maxSize: 250, maxFiles: 2, compress: false }, silentLogger);
    const l = line(3);
    w.write(l.data, l.time);
    await w.close();
    assert.deepEqual(logLines(await readFile(`${path}.1`, 'utf8')), ['0', '1', '2']);
    assert.deepEqual(logLines(await readFile(path, 'utf8')), ['3']);
  });

  it('a write error surfaces from flush once, and writing goes on', async () => {
    const w = await LogFileWriter.open(path, { maxSize: -1, maxFiles: 1, compress: false }, silentLogger);
    // Close the descriptor under the writer to make its next write fail.
    await (w as unknown as { fh: { close(): Promise<void> } }).fh.close();
    w.write(line(0).data, 0n);
    await assert.rejects(w.flush(), /error writing log entry/);
    await w.flush();
    await w.close();
  });
});
