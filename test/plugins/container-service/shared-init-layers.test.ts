import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type GraphDriver, type ImageStore } from '../../../kernel/index.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import { SharedInitLayers } from '../../../plugins/container-service/shared-init-layers.js';
import { INIT_ENTRIES } from '../../../plugins/container-service/init-layer.js';

/**
 * The image's shared init layer on a real driver (vfs, in a temp dir): made
 * once for concurrent first users, complete when acquire resolves, kept idle
 * after its last user for the next one until evicted (its image deleted,
 * shutdown) or timed out, and after a restart kept for the records that use
 * it while markers nobody uses have their layer removed.
 */
describe('SharedInitLayers', () => {
  let dir: string;
  let graph: GraphDriver;
  /** The layer store's holds (layerdb/mounts), by holder, with the image they were taken for. */
  let holds: Map<string, string>;
  let images: ImageStore;
  const markers = () => readdirSync(join(dir, 'containers', '.init-layers', 'vfs'));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-shared-init-'));
    graph = await VfsDriver.open(join(dir, 'vfs'));
    holds = new Map();
    images = {
      holdLayers: async (holder: string, imageId: string) => { holds.set(holder, imageId); return null; },
      releaseLayers: async (holder: string) => { holds.delete(holder); },
    } as unknown as ImageStore;
    await graph.create('top', null);
    const root = await graph.get('top');
    await writeFile(join(root, 'image-file'), 'from the image');
    await graph.put('top');
  });
  afterEach(async () => {
    await graph.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('concurrent first users share one complete layer; containers on it write apart; kept idle after the last release until evicted', async () => {
    const layers = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    const ids = await Promise.all([1, 2, 3].map(() => layers.acquire(graph, 'top', 'sha256:img')));
    assert.deepEqual(ids, ['top-init', 'top-init', 'top-init']);
    assert.deepEqual(markers(), ['top-init']);
    assert.deepEqual([...holds], [['top-init', 'sha256:img']], 'one hold on the image for all its containers');
    const init = await graph.get('top-init');
    for (const e of INIT_ENTRIES) assert.ok(existsSync(join(init, e.path)), `${e.path} is in the shared init layer`);
    assert.equal(await readFile(join(init, 'image-file'), 'utf8'), 'from the image');
    await graph.put('top-init');

    // Two containers on it: a file one writes in /etc is not in the other's root, nor in the init layer.
    await graph.createReadWrite('c1', 'top-init');
    await graph.createReadWrite('c2', 'top-init');
    await writeFile(join(await graph.get('c1'), 'etc', 'only-c1'), 'x');
    assert.equal(existsSync(join(await graph.get('c2'), 'etc', 'only-c1')), false);
    assert.equal(existsSync(join(await graph.get('top-init'), 'etc', 'only-c1')), false);
    for (const id of ['c1', 'c2', 'top-init']) await graph.put(id);
    assert.deepEqual((await graph.changes('c1', 'top-init')).map((c) => `${c.Kind} ${c.Path}`), ['0 /etc', '1 /etc/only-c1']);
    assert.deepEqual(await graph.changes('c2', 'top-init'), [], 'the placeholders are not a change of the container');
    await graph.remove('c1');
    await graph.remove('c2');

    await layers.release('top-init');
    await layers.release('top-init');
    assert.equal(await graph.exists('top-init'), true, 'still used by one container');
    await layers.release('top-init');
    assert.equal(await graph.exists('top-init'), true, 'kept idle for the next container of the image');
    assert.deepEqual([...holds.keys()], ['top-init']);
    await layers.evict('other-top');
    assert.equal(await graph.exists('top-init'), true, 'the eviction of another image leaves it');
    await layers.evict('top');
    assert.equal(await graph.exists('top-init'), false, 'gone when its image is');
    assert.deepEqual(markers(), []);
    assert.deepEqual([...holds], [], 'and so is its hold on the image');
    assert.equal(layers.has('top-init'), false);
  });

  it('an idle layer is taken again as it is: no new layer, marker or hold', async () => {
    const layers = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    await layers.acquire(graph, 'top', 'sha256:img');
    const init = await graph.get('top-init');
    await writeFile(join(init, 'witness'), 'same layer');
    await graph.put('top-init');
    await layers.release('top-init');
    let held = 0;
    const plain = images;
    images = { ...plain, holdLayers: async (h: string, i: string) => { held++; return plain.holdLayers(h, i); } } as ImageStore;
    assert.equal(await layers.acquire(graph, 'top', 'sha256:img'), 'top-init');
    assert.equal(await readFile(join(await graph.get('top-init'), 'witness'), 'utf8'), 'same layer', 'the idle layer itself');
    await graph.put('top-init');
    assert.equal(held, 0, 'no new hold');
    assert.deepEqual(markers(), ['top-init']);
    // In use again: an eviction leaves it; after its release, shutdown's eviction removes it.
    await layers.evict();
    assert.equal(await graph.exists('top-init'), true);
    await layers.release('top-init');
    await layers.evict();
    assert.equal(await graph.exists('top-init'), false);
    assert.deepEqual(markers(), []);
    assert.deepEqual([...holds], []);
  });

  it('an idle layer no container takes within the idle time is removed', async () => {
    const layers = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images, 50);
    await layers.acquire(graph, 'top', 'sha256:img');
    await layers.release('top-init');
    assert.equal(await graph.exists('top-init'), true);
    const t0 = Date.now();
    while (layers.has('top-init') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    await layers.evict(); // waits for the removal under way
    assert.equal(await graph.exists('top-init'), false);
    assert.deepEqual(markers(), []);
    assert.deepEqual([...holds], []);
  });

  it('a user arriving while the last one is being removed gets a fresh complete layer', async () => {
    const layers = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    await layers.acquire(graph, 'top', 'sha256:img');
    await layers.release('top-init');
    const gone = layers.evict('top');
    const again = layers.acquire(graph, 'top', 'sha256:img');
    await gone;
    assert.equal(await again, 'top-init');
    assert.equal(await graph.exists('top-init'), true);
    const init = await graph.get('top-init');
    assert.ok(existsSync(join(init, '.dockerenv')));
    await graph.put('top-init');
    assert.deepEqual(markers(), ['top-init']);
  });

  it('a failed creation takes no reference and leaves no layer, hold or marker', async () => {
    const layers = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    await assert.rejects(layers.acquire(graph, 'no-such-top', 'sha256:img'), /does not exist/);
    assert.equal(await graph.exists('no-such-top-init'), false);
    assert.deepEqual(markers(), []);
    assert.deepEqual([...holds], []);
    assert.equal(layers.has('no-such-top-init'), false);
  });

  it('restore keeps the layers records use and removes those of markers no record uses (what a kill -9 leaves)', async () => {
    const before = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    await before.acquire(graph, 'top', 'sha256:img');
    await graph.create('top2', null);
    await before.acquire(graph, 'top2', 'sha256:img');
    // "kill -9": the process is gone, its layers and markers stay. One record still uses top-init.
    const after = new SharedInitLayers(join(dir, 'containers'), silentLogger, () => images);
    assert.equal(await after.restore(graph, ['top-init']), 1);
    assert.equal(await graph.exists('top-init'), true);
    assert.equal(await graph.exists('top2-init'), false, 'no record uses it: removed');
    assert.deepEqual(markers(), ['top-init']);
    assert.deepEqual([...holds.keys()], ['top-init'], 'the unused layer\'s hold is released');
    await after.release('top-init');
    await after.evict();
    assert.equal(await graph.exists('top-init'), false);
  });
});
