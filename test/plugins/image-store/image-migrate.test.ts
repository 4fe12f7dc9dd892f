import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus, silentLogger } from '../../../kernel/index.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import { hexOf } from '../../../plugins/image-store/digest.js';
import { ImageCore } from '../../../plugins/image-store/image-core.js';
import { loadImages } from '../../../plugins/image-store/image-load.js';
import { migrateStore } from '../../../plugins/image-store/image-migrate.js';
import { imagesUnderOtherDrivers, strandedWarning } from '../../../plugins/image-store/other-driver-stores.js';
import { familiarString, parseNormalizedNamed } from '../../../plugins/image-store/reference.js';
import { configFor, dockerArchive, fileLayer } from '../../helpers/image-archives.js';
import { body, loadOutput } from './store-fixture.js';

describe('image migration between two drivers\' stores', () => {
  let dataRoot: string;
  const drivers: VfsDriver[] = [];
  const bus = new EventBus(silentLogger);
  const open = async (name: string) => {
    const driver = await VfsDriver.open(join(dataRoot, name));
    drivers.push(driver);
    return ImageCore.open({ root: join(dataRoot, 'image', name), driver: () => driver, driverName: name, events: bus, log: silentLogger });
  };
  const load = async (core: ImageCore, layers: Buffer[], tags: string[], extra: Record<string, unknown> = {}) => {
    await loadImages(core, body(await dockerArchive([{ config: configFor(layers, extra), layers, repoTags: tags }])), { quiet: true, out: loadOutput().out });
    return core.resolve(tags[0]!).id;
  };
  let base: Buffer;
  let top: Buffer;
  before(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'berth-migrate-unit-'));
    base = await fileLayer('base.txt', 'base');
    top = await fileLayer('top.txt', 'top');
  });
  after(async () => {
    for (const d of drivers) await d.dispose();
    await rm(dataRoot, { recursive: true, force: true });
  });

  it('copies images with the same IDs, diff IDs and tags; skips what is there; keeps conflicting tags', async () => {
    const src = await open('vfs');
    const dst = await open('copy');
    const two = await load(src, [base, top], ['fixture:1', 'fixture:alias']);
    const one = await load(src, [base], ['base:1']);
    await load(src, [top], ['clash:1']);
    const theirs = await load(dst, [top, base], ['clash:1']); // the target already uses clash:1 for another image
    const report = await migrateStore(src, dst, silentLogger);
    assert.equal(report.failed.length, 0, JSON.stringify(report.failed));
    assert.equal(report.migrated.length, 3);
    assert.deepEqual(report.conflicts, [`clash:1 (kept on ${theirs})`]);
    assert.equal(report.tagsAdded, 3);
    for (const id of [two, one]) {
      assert.deepEqual(dst.images.get(id)?.chain, src.images.get(id)?.chain);
      assert.deepEqual(dst.images.get(id)?.raw, src.images.get(id)?.raw);
      for (const chainId of dst.images.get(id)!.chain) assert.equal(dst.layers.get(chainId)?.diffId, src.layers.get(chainId)?.diffId);
    }
    assert.deepEqual(dst.references(two).map(familiarString), ['fixture:1', 'fixture:alias']);
    // The base layer is shared: one copy in the target.
    assert.equal(dst.layers.all().length, 4); // base, base+top, top, top+base
    const again = await migrateStore(src, dst, silentLogger);
    assert.deepEqual([again.migrated.length, again.present.length, again.tagsAdded], [0, 3, 0]);
  });

  it('says which images stay under another driver, naming a few', async () => {
    const src = await open('vfs');
    const dst = await open('empty');
    const stranded = await imagesUnderOtherDrivers(dataRoot, 'empty', (id) => dst.images.has(id));
    const vfs = stranded.find((s) => s.driver === 'vfs')!;
    assert.equal(vfs.images.length, src.images.size);
    assert.match(strandedWarning(vfs, 'empty'), /^3 images stay under the previous storage driver "vfs" and are not available with "empty" \(base:1, clash:1, fixture:1\): stop berthd and run 'berthd migrate-images --from vfs --to empty'/);
    assert.deepEqual(await imagesUnderOtherDrivers(dataRoot, 'copy', () => true), []);
  });

  it('a layer that cannot be read fails its image only, leaving nothing half-copied', async () => {
    const src = await open('vfs');
    const bad = await load(src, [await fileLayer('x', 'broken')], ['broken:1']);
    const chainId = src.images.get(bad)!.chain[0]!;
    await writeFile(join(dataRoot, 'image', 'vfs', 'layerdb', 'sha256', hexOf(chainId), 'tar-split.json.gz'), 'not gzip');
    const dst = await open('third');
    const report = await migrateStore(src, dst, silentLogger);
    assert.deepEqual(report.failed.map((f) => f.id), [bad]);
    assert.equal(report.migrated.length, 3);
    assert.equal(dst.images.has(bad), false);
    assert.equal(dst.refs.get(parseNormalizedNamed('broken:1')), undefined);
    const layersOnDisk = (await readdir(join(dataRoot, 'third', 'dir'))).length;
    assert.equal(layersOnDisk, dst.layers.all().length, 'no driver layer without a registration');
  });
});
