import { describe, it, beforeEach, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger, type GraphDriver } from '../../../kernel/index.js';
import { OverlayDriver } from '../../../plugins/graph-overlay/overlay-driver.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import { DiffIdMismatchError, LayerStore, type ChainLayer } from '../../../plugins/image-store/layer-store.js';
import { makeTar } from '../../conformance/tar-fixtures.js';
import { sha256sum } from '../../helpers/image-archives.js';
import { overlaySkipReason } from '../graph-overlay/overlay-skip.js';

/**
 * registerChain: the layers of one load registered together — unpacked at
 * once on overlay2 (independent diff dirs), one after the other on vfs —
 * with the same chain IDs, contents and failure behaviour as registering
 * them one by one.
 */
const skip = await overlaySkipReason();

const layerTars = () => Promise.all([
  makeTar([{ name: 'etc/', mode: 0o755 }, { name: 'etc/base', content: 'base' }, ...Array.from({ length: 150 }, (_, i) => ({ name: `etc/f${i}`, content: `one ${i}` }))]),
  makeTar([{ name: 'etc/', mode: 0o755 }, { name: 'etc/.wh.base' }, { name: 'etc/two', content: 'two' }]),
  makeTar([{ name: 'usr/', mode: 0o755 }, ...Array.from({ length: 150 }, (_, i) => ({ name: `usr/g${i}`, content: `three ${i}`.repeat(50) }))]),
  makeTar([{ name: 'etc/', mode: 0o755 }, { name: 'etc/four', content: 'four' }]),
]);

const chainOf = (tars: Buffer[], diffIds = tars.map(sha256sum)): ChainLayer[] =>
  tars.map((t, i) => ({ diffId: diffIds[i]!, open: async () => Readable.from([t.subarray(0, 1000), t.subarray(1000)]) }));

for (const [name, openDriver, skipReason] of [
  ['overlay2 (unpacked at once)', (root: string) => OverlayDriver.open(root), skip],
  ['vfs (one after the other)', (root: string) => VfsDriver.open(root), undefined],
] as const) {
  describe(`layer store registerChain on ${name}`, { skip: skipReason }, () => {
    let dir: string;
    let driver: GraphDriver;
    let store: LayerStore;
    let tars: Buffer[];
    const driverRoot = () => join(dir, 'driver');
    const open = () => LayerStore.open(join(dir, 'layerdb'), () => driver, silentLogger);
    const leftovers = async () => (await readdir(join(dir, 'layerdb', 'tmp'))).length;

    before(async () => { tars = await layerTars(); });
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-chain-'));
      driver = await openDriver(driverRoot());
      store = await open();
    });
    afterEach(async () => {
      await driver.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('registers the chain as one-by-one registration does, reassembling every tar byte for byte', async () => {
      assert.equal((await driver.independentDiffs?.()) ?? false, name.startsWith('overlay2'), 'the path this suite means to take');
      const recs = await store.registerChain(null, chainOf(tars));
      assert.equal(recs.length, 4);
      let parent: string | null = null;
      for (let i = 0; i < 4; i++) {
        assert.equal(recs[i]!.diffId, sha256sum(tars[i]!));
        assert.equal(recs[i]!.parent?.chainId ?? null, parent);
        parent = recs[i]!.chainId;
        const { stream } = await store.tarStream(recs[i]!.chainId);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        assert.ok(Buffer.concat(chunks).equals(tars[i]!), `layer ${i} reassembles`);
      }
      // The same chain, registered one by one in a second store, gets the same chain IDs.
      const other = await LayerStore.open(join(dir, 'layerdb2'), () => driver, silentLogger);
      let prev: string | null = null;
      for (let i = 0; i < 4; i++) {
        const r = await other.register(Readable.from([tars[i]!]), prev, sha256sum(tars[i]!));
        assert.equal(r.chainId, recs[i]!.chainId);
        prev = r.chainId;
      }
      // The top layer's view: base whited out by layer 2.
      const top = await driver.get(recs[3]!.cacheId);
      try {
        const etc = (await readdir(join(top, 'etc'))).sort();
        assert.ok(etc.includes('two') && etc.includes('four') && etc.includes('f149'));
        assert.ok(!etc.includes('base'), 'the whiteout of layer 2 hides layer 1\'s file');
      } finally {
        await driver.put(recs[3]!.cacheId);
      }
      assert.equal(await leftovers(), 0);
      // It survives a restart (every layer committed, parents first).
      await driver.dispose();
      driver = await openDriver(driverRoot());
      store = await open();
      assert.equal(store.all().length, 4);
    });

    it('a chain on a registered parent is committed with the right parent links, which a restart checks', async () => {
      const base = await store.register(Readable.from([tars[0]!]), null, sha256sum(tars[0]!));
      const recs = await store.registerChain(base.chainId, chainOf(tars.slice(1)));
      assert.deepEqual(recs.map((r) => r.parent?.chainId), [base.chainId, recs[0]!.chainId, recs[1]!.chainId]);
      assert.equal(await leftovers(), 0, 'no write-set dir or pending marker left');
      // restore() keeps a registration only when its parent file names a registered layer and its chain ID matches.
      await driver.dispose();
      driver = await openDriver(driverRoot());
      store = await open();
      assert.deepEqual(store.all().map((r) => r.chainId).sort(), [base.chainId, ...recs.map((r) => r.chainId)].sort());
      assert.equal(store.get(recs[2]!.chainId)?.parent?.parent?.parent?.chainId, base.chainId);
    });

    it('fails as a whole on a diff ID mismatch, naming the layer, and leaves nothing behind', async () => {
      const ids = tars.map(sha256sum);
      ids[2] = `sha256:${'0'.repeat(64)}`;
      const err = await store.registerChain(null, chainOf(tars, ids)).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof DiffIdMismatchError, `got ${String(err)}`);
      assert.equal(err.index, 2);
      assert.equal(err.actual, sha256sum(tars[2]!));
      assert.equal(store.all().length, 0, 'no layer of the chain stays registered');
      assert.deepEqual((await readdir(driverRoot())).filter((n) => /^[0-9a-f]{64}$/.test(n)), [], 'no driver layer left');
      assert.equal(await leftovers(), 0);
    });

    it('fails as a whole on a corrupt layer tar and on an input error', async () => {
      const layers = chainOf(tars);
      layers[1] = { diffId: layers[1]!.diffId, open: async () => Readable.from([tars[1]!.subarray(0, 700)]) };
      await assert.rejects(store.registerChain(null, layers), /unexpected EOF/);
      layers[1] = { diffId: layers[1]!.diffId, open: async () => { throw new Error('blob unreadable'); } };
      await assert.rejects(store.registerChain(null, layers), /blob unreadable/);
      assert.equal(store.all().length, 0);
      assert.deepEqual((await readdir(driverRoot())).filter((n) => /^[0-9a-f]{64}$/.test(n)), []);
      assert.equal(await leftovers(), 0);
    });

    it('concurrent chains sharing a prefix store the shared layers once', async () => {
      const alt = await makeTar([{ name: 'alt', content: 'other top' }]);
      const [a, b] = await Promise.all([
        store.registerChain(null, chainOf(tars)),
        store.registerChain(null, chainOf([tars[0]!, tars[1]!, alt])),
      ]);
      assert.equal(a[0], b[0]);
      assert.equal(a[1], b[1]);
      assert.notEqual(a[2]!.chainId, b[2]!.chainId);
      assert.equal(a[0]!.refs, 3, 'two callers and its child');
      assert.equal(store.all().length, 5);
      // Releasing everything removes everything.
      for (const r of [...a].reverse()) await store.release(r.chainId);
      for (const r of [...b].reverse()) await store.release(r.chainId);
      assert.equal(store.all().length, 0);
      assert.deepEqual((await readdir(driverRoot())).filter((n) => /^[0-9a-f]{64}$/.test(n)), []);
    });
  });
}
