import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidParameterError } from '../../../kernel/index.js';
import { applyLayerTar } from '../../../plugins/graph-common/tar-applier.js';
import { applyLayerTarOffThread, layerWorkerCount } from '../../../plugins/graph-common/tar-apply-thread.js';
import { TarParseError } from '../../../plugins/graph-common/tar-parser.js';
import { makeTar, readTree, type TarSpec } from '../../conformance/tar-fixtures.js';

/** A layer of many entries (dirs, files of several sizes, symlinks, hard links, a whiteout), in small chunks. */
function bigLayer(): TarSpec[] {
  const entries: TarSpec[] = [{ name: 'usr/', mode: 0o755 }, { name: 'usr/lib/', mode: 0o750, uid: 7, gid: 8 }];
  for (let i = 0; i < 300; i++) {
    entries.push({ name: `usr/lib/f${i}`, content: `file ${i} `.repeat(i * 37), mode: i % 2 ? 0o644 : 0o4755, uid: i % 3, gid: i % 5 });
    if (i % 10 === 0) entries.push({ name: `usr/lib/s${i}`, type: 'symlink', linkname: `f${i}` });
    if (i % 25 === 0) entries.push({ name: `usr/h${i}`, type: 'link', linkname: `usr/lib/f${i}` });
  }
  entries.push({ name: 'usr/.wh.gone' });
  return entries;
}

/** readTree with inode numbers replaced by the first path holding the inode (hard links compare, numbers do not). */
async function shape(dir: string) {
  const first = new Map<number, string>();
  const out = new Map<string, unknown>();
  for (const [rel, node] of [...(await readTree(dir))].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!first.has(node.ino)) first.set(node.ino, rel);
    out.set(rel, { ...node, ino: first.get(node.ino) });
  }
  return out;
}

const chunked = (b: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size)));

describe('graph-common applyLayerTarOffThread (the applier on a worker thread)', () => {
  let tmp: string;
  beforeEach(async () => { tmp = await mkdtemp(join(tmpdir(), 'berth-apply-thread-')); });
  afterEach(async () => { await rm(tmp, { recursive: true, force: true }); });

  it('a small layer whose input fails rejects with its error and writes nothing', async () => {
    assert.equal(layerWorkerCount(), 0, 'runs before any worker exists');
    const root = join(tmp, 'layer');
    await mkdir(root);
    const input = new PassThrough();
    const done = applyLayerTarOffThread(root, input, {}, 1 << 20).then(() => null, (e: unknown) => e);
    input.write((await makeTar([{ name: 'a', content: 'x' }])).subarray(0, 600));
    await sleep(20);
    input.destroy(new Error('cut short'));
    assert.match(String(await done), /cut short/);
    assert.deepEqual(await readdir(root), []);
  });

  it('a small layer with no idle worker is unpacked on this thread (no worker booted), as the in-thread applier does', async () => {
    const workers = layerWorkerCount();
    const tar = await makeTar(bigLayer());
    const here = join(tmp, 'here');
    const small = join(tmp, 'small');
    await mkdir(here);
    await mkdir(small);
    const a = await applyLayerTar(here, chunked(tar, 4096), { whiteouts: 'remove' });
    // First test of the file (its own process): no worker exists yet.
    assert.equal(workers, 0);
    assert.equal(await applyLayerTarOffThread(small, chunked(tar, 3000), { whiteouts: 'remove' }, tar.length + 1), a);
    assert.equal(layerWorkerCount(), 0, 'no worker was started for a layer under the limit');
    assert.deepEqual(await shape(small), await shape(here));
    // The same layer over the limit: its first bytes are read, put back, and the worker gets every byte in order.
    const big = join(tmp, 'big');
    await mkdir(big);
    assert.equal(await applyLayerTarOffThread(big, chunked(tar, 3000), { whiteouts: 'remove' }, 10_000), a);
    assert.deepEqual(await shape(big), await shape(here));
  });

  it('unpacks exactly what the in-thread applier unpacks, with the same size, for both whiteout modes', async () => {
    const tar = await makeTar(bigLayer());
    for (const whiteouts of ['remove', 'overlay'] as const) {
      const here = join(tmp, `here-${whiteouts}`);
      const there = join(tmp, `there-${whiteouts}`);
      await mkdir(here);
      await mkdir(there);
      await writeFile(join(here, 'gone'), 'x');
      await mkdir(join(here, 'usr'));
      await writeFile(join(here, 'usr', 'gone'), 'x');
      await mkdir(join(there, 'usr'));
      await writeFile(join(there, 'usr', 'gone'), 'x');
      await writeFile(join(there, 'gone'), 'x');
      const a = await applyLayerTar(here, chunked(tar, 4096), { whiteouts });
      const b = await applyLayerTarOffThread(there, chunked(tar, 3000), { whiteouts }, 0);
      assert.equal(b, a);
      assert.ok(a > 100_000);
      assert.deepEqual(await shape(there), await shape(here), `tree (${whiteouts})`);
    }
  });

  it('several at once on separate threads', async () => {
    const tars = await Promise.all([0, 1, 2, 3].map((n) => makeTar([{ name: `d${n}/`, mode: 0o755 }, ...Array.from({ length: 200 }, (_, i) => ({ name: `d${n}/f${i}`, content: `${n}:${i}` }))])));
    const dirs = tars.map((_, n) => join(tmp, `l${n}`));
    await Promise.all(dirs.map((d) => mkdir(d)));
    await Promise.all(tars.map((t, n) => applyLayerTarOffThread(dirs[n]!, chunked(t, 1000), {}, 0)));
    for (let n = 0; n < 4; n++) {
      assert.equal((await readdir(join(dirs[n]!, `d${n}`))).length, 200);
      assert.equal(await readFile(join(dirs[n]!, `d${n}`, 'f199'), 'utf8'), `${n}:199`);
    }
  });

  it('fails as the in-thread applier does: breakouts are InvalidParameterError, bad framing TarParseError, nothing outside', async () => {
    const root = join(tmp, 'layer');
    await mkdir(root);
    const slip = await makeTar([{ name: 'ok', content: 'fine' }, { name: '../escaped', content: 'evil' }]);
    const err = await applyLayerTarOffThread(root, chunked(slip, 700), {}, 0).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof InvalidParameterError, `got ${String(err)}`);
    assert.match((err as Error).message, /outside of/);
    assert.equal(existsSync(join(tmp, 'escaped')), false);
    const truncated = (await makeTar([{ name: 'big', content: 'z'.repeat(5000) }])).subarray(0, 2048);
    const root2 = join(tmp, 'layer2');
    await mkdir(root2);
    const err2 = await applyLayerTarOffThread(root2, chunked(truncated, 512), {}, 0).then(() => null, (e: unknown) => e);
    assert.ok(err2 instanceof TarParseError, `got ${String(err2)}`);
    assert.match((err2 as Error).message, /unexpected EOF/);
    // The worker that failed is usable again.
    const root3 = join(tmp, 'layer3');
    await mkdir(root3);
    assert.equal(await applyLayerTarOffThread(root3, chunked(await makeTar([{ name: 'again', content: 'yes' }]), 100), {}, 0), 3);
    assert.equal(await readFile(join(root3, 'again'), 'utf8'), 'yes');
  });

  it('an input that fails at once (before the root is resolved) rejects with its error, never unhandled', async () => {
    const root = join(tmp, 'layer');
    await mkdir(root);
    const input = new PassThrough();
    const done = applyLayerTarOffThread(root, input, {}, 0).then(() => null, (e: unknown) => e);
    input.destroy(new Error('gone before a byte'));
    assert.match(String(await done), /gone before a byte/);
    assert.deepEqual(await readdir(root), []);
  });

  it('an input that fails half-way rejects with its error, and only once nothing more is written', async () => {
    const root = join(tmp, 'layer');
    await mkdir(root);
    const tar = await makeTar(Array.from({ length: 400 }, (_, i) => ({ name: `f${i}`, content: 'x'.repeat(2000) })));
    const input = new PassThrough();
    const done = applyLayerTarOffThread(root, input, {}, 0).then(() => null, (e: unknown) => e);
    input.write(tar.subarray(0, 200_000));
    await sleep(50);
    input.destroy(new Error('client went away'));
    const err = await done;
    assert.match(String(err), /client went away/);
    const after = (await readdir(root)).length;
    assert.ok(after < 400, 'the rest of the tar was never applied');
    await sleep(200);
    assert.equal((await readdir(root)).length, after, 'nothing written after the promise settled');
    await rm(root, { recursive: true, force: true });
  });

});
