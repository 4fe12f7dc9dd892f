import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { InvalidParameterError, NotFoundError, silentLogger } from '../../../kernel/index.js';
import { copyTree } from '../../../plugins/graph-common/copy-tree.js';
import { DirLayerDiffs } from '../../../plugins/graph-common/dir-layer-diffs.js';
import { checkLayerId, validLayerId } from '../../../plugins/graph-common/layer-id.js';
import { LayerRefs } from '../../../plugins/graph-common/layer-refs.js';
import { applyThroughMount, withMountedTrees, type MountedLayers } from '../../../plugins/graph-common/mounted-trees.js';

/** A "mounting" driver that hands out directories and counts what is still held. */
class CountingLayers implements MountedLayers {
  readonly held = new Map<string, number>();
  constructor(private readonly root: string) {}
  async get(id: string): Promise<string> {
    if (id === 'missing') throw new NotFoundError(`layer ${id} does not exist`);
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    return join(this.root, id);
  }
  async put(id: string): Promise<void> {
    const n = (this.held.get(id) ?? 0) - 1;
    if (n <= 0) this.held.delete(id);
    else this.held.set(id, n);
  }
}

const tarOf = async (diff: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of diff) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

describe('graph-common layer helpers shared by the graph drivers', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-layer-helpers-'));
    await mkdir(join(tmp, 'base', 'etc'), { recursive: true });
    await writeFile(join(tmp, 'base', 'etc', 'keep'), 'same');
    await writeFile(join(tmp, 'base', 'etc', 'gone'), 'bye');
    await mkdir(join(tmp, 'child'));
    await copyTree(join(tmp, 'base'), join(tmp, 'child'));
    await writeFile(join(tmp, 'child', 'etc', 'new'), 'hello');
    await rm(join(tmp, 'child', 'etc', 'gone'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('layer ids are file names, minus the names a driver reserves', () => {
    for (const ok of ['abc', 'a'.repeat(255), '0f3e-init', 'l']) assert.equal(validLayerId(ok), true, ok);
    for (const bad of ['', '.', '..', 'a/b', 'a\0b', 'a'.repeat(256)]) assert.equal(validLayerId(bad), false, JSON.stringify(bad));
    assert.equal(validLayerId('l', ['l']), false);
    assert.throws(() => checkLayerId('../x'), (e: Error) => e instanceof InvalidParameterError && e.message === 'invalid layer id "../x"');
    assert.throws(() => checkLayerId('l', ['l']), /invalid layer id "l"/);
    assert.doesNotThrow(() => checkLayerId('x'));
  });

  it('counts references: in use until every get is put back; a stray put is ignored', () => {
    const refs = new LayerRefs();
    refs.drop('a');
    assert.equal(refs.inUse('a'), false);
    refs.take('a');
    refs.take('a');
    refs.drop('a');
    assert.equal(refs.inUse('a'), true);
    refs.drop('a');
    assert.equal(refs.inUse('a'), false);
    refs.take('b');
    refs.clear();
    assert.equal(refs.inUse('b'), false);
  });

  it('directory layers: changes, size, diff and apply against the parent tree', async () => {
    const asked: Array<[string, string | null]> = [];
    const diffs = new DirLayerDiffs(async (id, parent) => {
      asked.push([id, parent]);
      return { newDir: join(tmp, id), oldDir: parent === null ? null : join(tmp, parent) };
    }, silentLogger);
    const changes = await diffs.changes('child', 'base');
    assert.deepEqual(changes.map((c) => `${c.Kind} ${c.Path}`).sort(), ['0 /etc', '1 /etc/new', '2 /etc/gone']);
    assert.equal(await diffs.diffSize('child', 'base'), 5);
    const tar = await tarOf(await diffs.diff('child', 'base'));
    assert.ok(tar.includes(Buffer.from('etc/.wh.gone')), 'the deletion is a whiteout in the layer tar');
    await mkdir(join(tmp, 'replay'));
    await copyTree(join(tmp, 'base'), join(tmp, 'replay'));
    await diffs.applyDiff('replay', 'base', Readable.from([tar]));
    assert.equal(await readFile(join(tmp, 'replay', 'etc', 'new'), 'utf8'), 'hello');
    assert.equal(existsSync(join(tmp, 'replay', 'etc', 'gone')), false, 'whiteouts are applied as deletions');
    assert.deepEqual(asked[0], ['child', 'base']);
  });

  it('mounted trees are released after fn, after a failure, and after a streamed result closes', async () => {
    const layers = new CountingLayers(tmp);
    const dirs = await withMountedTrees(layers, silentLogger, 'child', 'base', false, async (n, o) => [n, o]);
    assert.deepEqual(dirs, [join(tmp, 'child'), join(tmp, 'base')]);
    assert.equal(layers.held.size, 0);
    await assert.rejects(withMountedTrees(layers, silentLogger, 'child', 'base', false, async () => { throw new Error('boom'); }), /boom/);
    assert.equal(layers.held.size, 0);
    await assert.rejects(withMountedTrees(layers, silentLogger, 'child', 'missing', false, async () => 1), NotFoundError);
    assert.equal(layers.held.size, 0, 'the new tree is put back when the parent cannot be had');
    const s = await withMountedTrees(layers, silentLogger, 'child', null, true, async (n, o) => {
      assert.equal(o, null);
      return new PassThrough();
    });
    assert.deepEqual([...layers.held.keys()], ['child'], 'a stream keeps its mount');
    s.destroy();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(layers.held.size, 0);
  });

  it('applies a layer through the mount and puts it back, also when the tar is bad', async () => {
    const layers = new CountingLayers(tmp);
    const diffs = new DirLayerDiffs(async (id, parent) => ({ newDir: join(tmp, id), oldDir: parent && join(tmp, parent) }), silentLogger);
    const tar = await tarOf(await diffs.diff('child', 'base'));
    await mkdir(join(tmp, 'mnt'));
    await copyTree(join(tmp, 'base'), join(tmp, 'mnt'));
    const written = await applyThroughMount(layers, silentLogger, 'mnt', Readable.from([tar]));
    assert.equal(written, 5);
    assert.equal(await readFile(join(tmp, 'mnt', 'etc', 'new'), 'utf8'), 'hello');
    assert.equal(existsSync(join(tmp, 'mnt', 'etc', 'gone')), false);
    assert.equal(layers.held.size, 0);
    await assert.rejects(applyThroughMount(layers, silentLogger, 'mnt', Readable.from([Buffer.alloc(512, 7)])));
    assert.equal(layers.held.size, 0);
  });
});
