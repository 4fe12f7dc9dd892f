import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { InvalidParameterError, silentLogger, type GraphDriver } from '../../../kernel/index.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import { decompressStream } from '../../../plugins/image-store/decompress.js';
import { LayerStore } from '../../../plugins/image-store/layer-store.js';
import { makeTar } from '../../conformance/tar-fixtures.js';
import { sha256sum } from '../../helpers/image-archives.js';

describe('layer store (layerdb on a vfs driver)', () => {
  let dir: string;
  let driver: VfsDriver;
  let store: LayerStore;
  const open = () => LayerStore.open(join(dir, 'image', 'vfs', 'layerdb'), () => driver as GraphDriver, silentLogger);
  const driverLayers = async () => (await readdir(join(dir, 'vfs', 'dir'))).sort();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-layers-'));
    driver = await VfsDriver.open(join(dir, 'vfs'));
    store = await open();
  });
  afterEach(async () => {
    await driver.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('registers a chain in dockerd\'s layout, counts references and removes unused layers', async () => {
    const t1 = await makeTar([{ name: 'a', content: 'one' }]);
    const t2 = await makeTar([{ name: 'b', content: 'two' }]);
    const l1 = await store.register(Readable.from([t1]), null);
    const l2 = await store.register(Readable.from([t2]), l1.chainId);
    assert.equal(l1.diffId, sha256sum(t1));
    assert.equal(l1.chainId, l1.diffId);
    assert.equal(l2.parent, l1);
    assert.equal(l1.refs, 2, 'held by the caller and by its child');
    const meta = join(dir, 'image', 'vfs', 'layerdb', 'sha256', l2.chainId.slice(7));
    assert.equal(await readFile(join(meta, 'diff'), 'utf8'), l2.diffId);
    assert.equal(await readFile(join(meta, 'parent'), 'utf8'), l1.chainId);
    assert.equal(await readFile(join(meta, 'size'), 'utf8'), '3');
    assert.equal(await readFile(join(meta, 'cache-id'), 'utf8'), l2.cacheId);
    assert.ok(existsSync(join(meta, 'tar-split.json.gz')));
    assert.deepEqual(await driverLayers(), [l1.cacheId, l2.cacheId].sort());

    assert.deepEqual((await store.release(l1.chainId)).map((l) => l.chainId), [], 'the child still holds it');
    const removed = await store.release(l2.chainId);
    assert.deepEqual(removed.map((l) => l.chainId), [l2.chainId, l1.chainId], 'top first');
    assert.deepEqual(await driverLayers(), []);
    assert.deepEqual(await readdir(join(dir, 'image', 'vfs', 'layerdb', 'sha256')), []);
  });

  it('gives back the registered tar byte for byte', async () => {
    const t = await makeTar([{ name: 'd/', type: 'directory' }, { name: 'd/f', content: 'data' }, { name: 'l', type: 'symlink', linkname: 'd/f' }]);
    const l = await store.register(Readable.from([t]), null);
    const { stream, size } = await store.tarStream(l.chainId);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    assert.equal(size, t.length);
    assert.ok(Buffer.concat(chunks).equals(t));
  });

  it('stores a layer shared by concurrent registrations once', async () => {
    const t = await makeTar([{ name: 'shared', content: 'x'.repeat(10_000) }]);
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => store.register(Readable.from([t]), null)));
    assert.equal(a, b);
    assert.equal(b, c);
    assert.equal(a!.refs, 3);
    assert.equal((await driverLayers()).length, 1, 'duplicates are discarded');
    const withDiff = await Promise.all([0, 1].map(() => store.register(Readable.from([t]), null, a!.diffId)));
    assert.equal(withDiff[0], a);
    assert.equal(a!.refs, 5);
  });

  it('refuses a layer whose content does not match the expected diff ID', async () => {
    const t = await makeTar([{ name: 'f', content: 'real' }]);
    await assert.rejects(store.register(Readable.from([t]), null, `sha256:${'0'.repeat(64)}`), /does not match its diff ID/);
    assert.deepEqual(await driverLayers(), []);
    assert.equal(store.all().length, 0);
  });

  it('removes unreferenced layers and crash leftovers at startup', async () => {
    const kept = await store.register(Readable.from([await makeTar([{ name: 'k', content: 'keep' }])]), null);
    const orphan = await store.register(Readable.from([await makeTar([{ name: 'o', content: 'orphan' }])]), null);
    // kill -9 leftovers: a half-written registration and a driver layer created but never registered.
    const tmp = join(dir, 'image', 'vfs', 'layerdb', 'tmp');
    await mkdir(join(tmp, 'write-set-deadbeef'));
    await writeFile(join(tmp, 'write-set-deadbeef', 'diff'), 'sha256:junk');
    await driver.create('c0ffee'.padEnd(64, '0'), null);
    await writeFile(join(tmp, `pending-${'c0ffee'.padEnd(64, '0')}`), '');

    const reopened = await open();
    assert.ok(reopened.acquire(kept.chainId), 'an image would take its reference here');
    await reopened.collectGarbage();
    assert.ok(reopened.get(kept.chainId));
    assert.equal(reopened.get(orphan.chainId), undefined);
    assert.deepEqual(await driverLayers(), [kept.cacheId]);
    assert.deepEqual(await readdir(tmp), []);
    assert.deepEqual(await readdir(join(dir, 'image', 'vfs', 'layerdb', 'sha256')), [kept.chainId.slice(7)]);
  });

  it('keeps layers a container holds until it lets go, across restarts', async () => {
    const l = await store.register(Readable.from([await makeTar([{ name: 'c', content: 'c' }])]), null);
    const cid = 'a'.repeat(64);
    await store.holdMount(cid, l.chainId);
    await store.release(l.chainId);
    const reopened = await open();
    await reopened.collectGarbage();
    assert.ok(reopened.get(l.chainId), 'the mount holds it');
    await reopened.releaseMount(cid);
    await reopened.releaseMount(cid);
    assert.equal(reopened.get(l.chainId), undefined);
    assert.deepEqual(await driverLayers(), []);
  });

  describe('hostile layers', () => {
    const refused = async (data: Buffer | Readable, re: RegExp) => {
      const input = Buffer.isBuffer(data) ? Readable.from([data]) : data;
      await assert.rejects(store.register(await decompressStream(input), null), (e: Error) => e instanceof InvalidParameterError && re.test(e.message));
      assert.deepEqual(await driverLayers(), [], 'no partial layer');
      assert.equal(store.all().length, 0);
      assert.deepEqual(await readdir(join(dir, 'image', 'vfs', 'layerdb', 'tmp')), []);
    };

    it('refuses ../ entries', async () => {
      await refused(await makeTar([{ name: '../escape', content: 'x' }]), /outside of/);
      assert.equal(existsSync(join(dir, 'vfs', 'escape')), false);
    });

    it('keeps absolute names and symlink tricks inside the layer', async () => {
      const l = await store.register(Readable.from([await makeTar([
        { name: '/abs', content: 'abs' },
        { name: 'etc', type: 'symlink', linkname: '/' + join(dir, 'outside').slice(1) },
        { name: 'etc/passwd', content: 'pwned' },
      ])]), null);
      const root = join(dir, 'vfs', 'dir', l.cacheId);
      assert.equal(await readFile(join(root, 'abs'), 'utf8'), 'abs');
      assert.equal(existsSync(join(dir, 'outside', 'passwd')), false, 'nothing written through the symlink');
    });

    it('refuses a truncated tar and corrupt or truncated gzip', async () => {
      const t = await makeTar([{ name: 'f', content: 'y'.repeat(5000) }]);
      await refused(t.subarray(0, 2000), /^unexpected EOF$/);
      await refused(gzipSync(t).subarray(0, 40), /^invalid gzip data:/);
      const corrupt = gzipSync(t);
      corrupt.fill(0x55, 20, 60);
      await refused(corrupt, /^invalid gzip data:/);
      await refused(Buffer.from('this is not a tar archive at all, not even close'.repeat(20)), /^archive\/tar: invalid tar header$/);
    });
  });
});
