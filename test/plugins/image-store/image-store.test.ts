import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { ConflictError, InvalidParameterError, NotFoundError } from '../../../kernel/index.js';
import { configFor, dockerArchive, fileLayer, nodeSha, ociArchive, sha256sum } from '../../helpers/image-archives.js';
import { makeTar } from '../../conformance/tar-fixtures.js';
import { body, loadOutput, openStore } from './store-fixture.js';

type Fx = Awaited<ReturnType<typeof openStore>>;

/** The entries of a tar stream: name → bytes. */
async function untar(stream: Readable): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const ex = tar.extract();
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, Buffer.concat(chunks));
  }
  return out;
}

describe('local image store', () => {
  let fx: Fx;
  beforeEach(async () => { fx = await openStore(); });
  afterEach(async () => { await fx.close(); });

  it('imports a tar as a one-layer image whose ID is the digest of the stored config', async () => {
    const layer = await makeTar([{ name: 'bin/', type: 'directory' }, { name: 'bin/app', content: '#!/bin/sh\necho hi\n', mode: 0o755 }]);
    const id = await fx.store.importImage(body(gzipSync(layer)), {
      repo: 'example/app:1.0', message: 'from a test', changes: ['CMD ["/bin/app"]', 'ENV A=1'], platform: 'linux/arm64',
    });
    const stored = await readFile(join(fx.root, 'imagedb', 'content', 'sha256', id.slice(7)));
    assert.equal(id, sha256sum(stored));
    const cfg = JSON.parse(stored.toString());
    assert.deepEqual(Object.keys(cfg), ['architecture', 'comment', 'config', 'container_config', 'created', 'history', 'os', 'rootfs'], 'Go sorts the top-level keys');
    assert.equal(cfg.architecture, 'arm64');
    assert.equal(cfg.comment, 'from a test');
    assert.deepEqual(cfg.config.Cmd, ['/bin/app']);
    assert.deepEqual(cfg.config.Env, ['A=1']);
    assert.equal(cfg.config.Hostname, '', 'container.Config is written in full');
    assert.deepEqual(cfg.rootfs, { type: 'layers', diff_ids: [sha256sum(layer)] });
    assert.deepEqual(cfg.history, [{ created: cfg.created, comment: 'from a test' }]);
    assert.match(cfg.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const info = await fx.store.get('example/app:1.0');
    assert.equal(info.id, id);
    assert.deepEqual(info.repoTags, ['example/app:1.0']);
    assert.equal(info.size, '#!/bin/sh\necho hi\n'.length);
    assert.ok(info.lastTagTime);
    assert.deepEqual(fx.events.map((e) => `${e.Action} ${e.Actor.Attributes.name}`), [`tag example/app:1.0`, `import ${id}`]);
    const repos = JSON.parse(await readFile(join(fx.root, 'repositories.json'), 'utf8'));
    assert.deepEqual(repos, { Repositories: { 'example/app': { 'example/app:1.0': id } } });
  });

  it('finds images by ID, prefix, name and digest; unknown names are "No such image: x:latest"', async () => {
    const id = await fx.store.importImage(body(await fileLayer('f', 'x')), { repo: 'findme', message: 'm', changes: [] });
    for (const name of [id, id.slice(7), id.slice(7, 19), `sha256:${id.slice(7, 15)}`, 'findme', 'findme:latest', 'docker.io/library/findme']) {
      assert.equal((await fx.store.get(name)).id, id, name);
    }
    await assert.rejects(fx.store.get('nope'), (e: Error) => e instanceof NotFoundError && e.message === 'No such image: nope:latest');
    await assert.rejects(fx.store.get('nope:1'), { message: 'No such image: nope:1' });
    await assert.rejects(fx.store.get(`sha256:${'e'.repeat(64)}`), { message: `No such image: sha256:${'e'.repeat(64)}` });
    await assert.rejects(fx.store.get('UPPER'), InvalidParameterError);
  });

  it('loads a hand-made docker-archive: the ID is sha256 of the config bytes, tags are set', async () => {
    const layers = [await fileLayer('a', 'first'), await fileLayer('b', 'second')];
    const config = configFor(layers);
    const out = loadOutput();
    await fx.store.load(body(await dockerArchive([{ config, layers, repoTags: ['fixture:1', 'localhost:5000/team/fixture:2'] }])), { quiet: false, out: out.out });
    const id = sha256sum(config);
    assert.deepEqual(out.lines, ['Loaded image: fixture:1\n', 'Loaded image: localhost:5000/team/fixture:2\n']);
    assert.ok(out.progressed.length >= 2, 'Loading layer progress when not quiet');
    const info = await fx.store.get('fixture:1');
    assert.equal(info.id, id);
    assert.deepEqual(info.layers.map((l) => l.diffId), layers.map(sha256sum));
    assert.equal(info.lastTagTime, null, 'load does not touch LastTagTime, as in dockerd');
    assert.deepEqual(fx.events.map((e) => e.Action), ['load']);
    // Loading again reuses everything and keeps the ID.
    const again = loadOutput();
    await fx.store.load(body(await dockerArchive([{ config, layers }])), { quiet: true, out: again.out });
    assert.deepEqual(again.lines, [`Loaded image ID: ${id}\n`]);
    assert.equal((await readdir(fx.driverDir)).length, 2);
  });

  it('loads an OCI image layout (index.json only, gzip layers)', async () => {
    const layers = [await fileLayer('oci', 'layout')];
    const config = configFor(layers, { author: 'oci test' });
    const out = loadOutput();
    await fx.store.load(body(await ociArchive([{ config, layers, repoTags: ['docker.io/library/ocimg:3'] }])), { quiet: true, out: out.out });
    assert.deepEqual(out.lines, ['Loaded image: ocimg:3\n']);
    assert.equal((await fx.store.get('ocimg:3')).id, sha256sum(config));
  });

  it('save then rmi then load gives back the same image ID and tags', async () => {
    const layers = [await fileLayer('x', 'one'), await fileLayer('y', 'two')];
    const config = configFor(layers);
    await fx.store.load(body(await dockerArchive([{ config, layers, repoTags: ['round:trip'] }])), { quiet: true, out: loadOutput().out });
    await fx.store.tag('round:trip', 'round', 'second');
    const files = await untar(await fx.store.save(['round']));
    const id = sha256sum(config);
    assert.deepEqual([...files.keys()].filter((n) => !n.startsWith('blobs/sha256/')).sort(), ['blobs', 'blobs/sha256', 'index.json', 'manifest.json', 'oci-layout', 'repositories']);
    assert.equal(files.get(`blobs/sha256/${id.slice(7)}`)!.toString(), config, 'the config blob is the stored bytes');
    for (const l of layers) assert.ok(files.get(`blobs/sha256/${sha256sum(l).slice(7)}`)!.equals(l), 'layer blobs are the original tars');
    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    assert.deepEqual(manifest[0].RepoTags, ['round:second', 'round:trip']);
    assert.equal(manifest[0].Config, `blobs/sha256/${id.slice(7)}`);
    const index = JSON.parse(files.get('index.json')!.toString());
    assert.equal(index.manifests.length, 2);
    assert.equal(index.manifests[0].annotations['io.containerd.image.name'], 'docker.io/library/round:second');
    const ociManifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)!.toString());
    assert.equal(ociManifest.config.digest, id);
    assert.equal(files.get('oci-layout')!.toString(), '{"imageLayoutVersion": "1.0.0"}');

    const archive = await (async () => {
      const chunks: Buffer[] = [];
      for await (const c of await fx.store.save(['round:trip', 'round:second'])) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    })();
    const removed = await fx.store.remove(id, { force: true, prune: true });
    assert.deepEqual(removed.slice(0, 3), [{ Untagged: 'round:second' }, { Untagged: 'round:trip' }, { Deleted: id }]);
    assert.equal((await readdir(fx.driverDir)).length, 0);
    const out = loadOutput();
    await fx.store.load(body(archive), { quiet: true, out: out.out });
    assert.deepEqual(out.lines.sort(), ['Loaded image: round:second\n', 'Loaded image: round:trip\n']);
    assert.equal((await fx.store.get('round:trip')).id, id);
  });

  it('refuses bad archives with a 400 and keeps no partial image', async () => {
    const layers = [await fileLayer('f', 'data')];
    const lying = configFor([await fileLayer('f', 'other')]);
    const cases: Array<[Buffer, RegExp]> = [
      [await dockerArchive([{ config: lying, layers }]), /^invalid diffID for layer 0: expected "sha256:[0-9a-f]{64}", got "sha256:[0-9a-f]{64}"$/],
      [await dockerArchive([{ config: configFor([...layers, ...layers]), layers }]), /layers length mismatch: expected 1, got 2/],
      [await makeTar([{ name: 'hello', content: 'no manifest' }]), /does not contain a manifest.json/],
      [await makeTar([{ name: '../../escape', content: 'x' }]), /is outside of the archive/],
      [await makeTar([{ name: 'manifest.json', content: '[{"Config":"../../../../etc/passwd","Layers":[]}]' }]), /no such file in the archive/],
      [await makeTar([{ name: 'cfg', type: 'symlink', linkname: '/etc/passwd' }, { name: 'manifest.json', content: '[{"Config":"cfg","Layers":[]}]' }]), /no such file in the archive/],
      [await makeTar([{ name: 'manifest.json', content: '{not json' }]), /invalid archive: manifest.json/],
      [(await dockerArchive([{ config: configFor(layers), layers }])).subarray(0, 1500), /invalid archive|unexpected/i],
      [gzipSync(await makeTar([{ name: 'x', content: 'y' }])).subarray(0, 30), /invalid gzip data/],
    ];
    for (const [archive, re] of cases) {
      await assert.rejects(fx.store.load(body(archive), { quiet: true, out: loadOutput().out }), (e: Error) => e instanceof InvalidParameterError && re.test(e.message), String(re));
    }
    assert.equal(await fx.store.count(), 0);
    assert.deepEqual(await readdir(fx.driverDir), []);
    assert.deepEqual(await readdir(join(fx.root, 'tmp')), [], 'temp dirs are removed');
  });

  it('follows dockerd on rmi: untag only, conflicts, force, prune of parents', async () => {
    const id = await fx.store.importImage(body(await fileLayer('f', 'rmi')), { repo: 'one:1', message: 'm', changes: [] });
    await fx.store.tag(id, 'two', '2');
    await assert.rejects(fx.store.remove(id.slice(7, 19), { force: false, prune: true }),
      (e: Error) => e instanceof ConflictError && e.message === `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    assert.deepEqual(await fx.store.remove('two:2', { force: false, prune: true }), [{ Untagged: 'two:2' }]);
    assert.deepEqual(await fx.store.remove('one:1', { force: false, prune: true }), [{ Untagged: 'one:1' }, { Deleted: id }, { Deleted: sha256sum(await fileLayer('f', 'rmi')) }]);
    await assert.rejects(fx.store.remove('one:1', { force: false, prune: true }), { message: 'No such image: one:1' });
    await assert.rejects(fx.store.tag('one:1', 'x'), (e: Error) => e instanceof NotFoundError);
    await assert.rejects(fx.store.tag(id, 'sha256', 'x'), /ambiguous tag using digest algorithm as name/);
  });

  it('prunes dangling images by default, and unused tagged ones with dangling=false', async () => {
    const a = await fx.store.importImage(body(await fileLayer('a', 'a')), { message: 'm', changes: [] });
    const b = await fx.store.importImage(body(await fileLayer('b', 'b')), { repo: 'kept', message: 'm', changes: ['LABEL keep=yes'] });
    const r1 = await fx.store.prune({ danglingOnly: true });
    assert.deepEqual(r1.ImagesDeleted, [{ Deleted: a }, { Deleted: sha256sum(await fileLayer('a', 'a')) }]);
    assert.equal(r1.SpaceReclaimed, 1);
    assert.deepEqual((await fx.store.prune({ danglingOnly: true })), { ImagesDeleted: null, SpaceReclaimed: 0 });
    assert.deepEqual((await fx.store.prune({ danglingOnly: false, labels: (l) => !('keep' in l) })).ImagesDeleted, null);
    const r2 = await fx.store.prune({ danglingOnly: false });
    assert.deepEqual(r2.ImagesDeleted?.slice(0, 2), [{ Untagged: 'kept:latest' }, { Deleted: b }]);
    assert.equal(fx.events.filter((e) => e.Action === 'prune').length, 4);
  });

  it('survives concurrent imports and removals sharing a layer', async () => {
    const layer = await makeTar([{ name: 'shared', content: 's'.repeat(50_000) }]);
    const ids = await Promise.all([0, 1, 2, 3].map((i) => fx.store.importImage(body(layer), { repo: `c${i}`, message: `m${i}`, changes: [] })));
    assert.equal(new Set(ids).size, 4, 'different configs');
    assert.equal((await readdir(fx.driverDir)).length, 1, 'one copy of the shared layer');
    const again = fx.store.importImage(body(layer), { repo: 'c4', message: 'm4', changes: [] });
    await Promise.all([0, 1, 2].map((i) => fx.store.remove(`c${i}`, { force: false, prune: true })));
    const id4 = await again;
    const left = await fx.store.list();
    assert.deepEqual(left.map((i) => i.repoTags[0]).sort(), ['c3:latest', 'c4:latest']);
    assert.equal(left.find((i) => i.id === id4)!.layers[0]!.diffId, sha256sum(layer));
    await fx.store.remove('c3', { force: false, prune: true });
    await fx.store.remove('c4', { force: false, prune: true });
    assert.deepEqual(await readdir(fx.driverDir), []);
  });

  it('keeps a shared base layer intact under concurrent loads and an rmi of a sibling', async () => {
    const base = await makeTar([{ name: 'base', content: 'b'.repeat(30_000) }]);
    const mk = async (n: number) => {
      const layers = [base, await fileLayer(`top${n}`, `top ${n}`)];
      return { config: configFor(layers, { author: `a${n}` }), layers, repoTags: [`sib:${n}`] };
    };
    const first = await mk(0);
    await fx.store.load(body(await dockerArchive([first])), { quiet: true, out: loadOutput().out });
    const others = await Promise.all([1, 2, 3].map(mk));
    await Promise.all([
      ...others.map(async (img) => fx.store.load(body(await dockerArchive([img])), { quiet: true, out: loadOutput().out })),
      fx.store.remove('sib:0', { force: false, prune: true }),
    ]);
    const left = (await fx.store.list()).map((i) => i.repoTags[0]).sort();
    assert.deepEqual(left, ['sib:1', 'sib:2', 'sib:3']);
    for (const img of others) {
      const files = await untar(await fx.store.save([img.repoTags[0]!]));
      assert.ok(files.get(`blobs/sha256/${sha256sum(base).slice(7)}`)!.equals(base), 'the shared layer still reassembles exactly');
    }
    assert.equal((await readdir(fx.driverDir)).length, 4, 'one base and three tops');
  });

  it('restores everything after a restart and drops what a crash left unreferenced', async () => {
    const id = await fx.store.importImage(body(await fileLayer('p', 'persist')), { repo: 'persist:1', message: 'm', changes: [] });
    // A layer registered by a load that died before writing its image config:
    const core = (fx.store as unknown as { core: { layers: { register(i: Readable, p: null): Promise<unknown> } } }).core;
    await core.layers.register(body(await fileLayer('o', 'orphan')), null);
    assert.equal((await readdir(fx.driverDir)).length, 2);
    await fx.reopen();
    assert.equal((await fx.store.get('persist:1')).id, id);
    assert.equal((await readdir(fx.driverDir)).length, 1, 'the orphan layer is gone');
    assert.equal(await fx.store.count(), 1);
    assert.equal(await fx.store.layersSize(), 'persist'.length);
  });

  it('writes its state where dockerd does', async () => {
    const id = await fx.store.importImage(body(await fileLayer('f', 'x')), { repo: 'layout', message: 'm', changes: [] });
    assert.deepEqual((await readdir(fx.root)).sort(), ['imagedb', 'layerdb', 'repositories.json', 'tmp']);
    assert.deepEqual(await readdir(join(fx.root, 'imagedb', 'content', 'sha256')), [id.slice(7)]);
    assert.match(await readFile(join(fx.root, 'imagedb', 'metadata', 'sha256', id.slice(7), 'lastUpdated'), 'utf8'), /^\d{4}-/);
    assert.equal(nodeSha(await readFile(join(fx.root, 'imagedb', 'content', 'sha256', id.slice(7)))), id);
  });
});
