import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess, overlay2Supported } from '../helpers/berthd-process.js';
import { configFor, dockerArchive, sha256sum } from '../helpers/image-archives.js';
import { actualLayout, expectedLayout, imageRoot, mountsUnder, storedImages, taggedImageIds } from '../helpers/image-store-disk.js';

/**
 * Issue 3: "a daemon killed with kill -9 in the middle of a load or import
 * restarts with either the whole image or none of it, and no orphaned layer
 * is left behind after the next start".
 *
 * The archives are big enough (tens of MB of random data in several layers)
 * that the kill lands inside the operation: the test feeds the docker CLI's
 * stdin itself and kills berthd after a given number of bytes, or when the
 * store's own directories show that layers are being registered. After the
 * restart it checks the image (whole: same ID, tags, `docker save` gives
 * back the layers' bytes; or absent: not listed, 404), that the layer dirs of
 * the graph driver and the layerdb are exactly those the remaining images'
 * metadata names, and that loading the same archive again succeeds.
 */
const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : false;

const MiB = 1024 * 1024;
const LAYERS = 4;

const overlayOk = !skip && (await overlay2Supported());

interface Fixtures {
  dir: string;
  /** docker-archive of LAYERS layers of random files, tagged crash:load. */
  archive: string;
  archiveSize: number;
  configId: string;
  diffIds: string[];
  /** docker-archive of the first of those layers alone, tagged keep:base (a survivor sharing a layer). */
  keeper: string;
  keeperId: string;
  /** A filesystem tar of random files for docker import. */
  rootfs: string;
  rootfsSize: number;
  rootfsDigest: string;
}

/** Writes `count` files of random content (256 KiB – 1.25 MiB) under `dir/sub`. */
async function randomFiles(dir: string, sub: string, count: number): Promise<void> {
  await mkdir(join(dir, sub), { recursive: true });
  for (let i = 0; i < count; i++) await writeFile(join(dir, sub, `f${i}.bin`), randomBytes(randomInt(256 * 1024, 1280 * 1024)));
}

async function makeFixtures(): Promise<Fixtures> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-crash-'));
  const layers: Buffer[] = [];
  for (let i = 0; i < LAYERS; i++) {
    const src = join(dir, `layer${i}`);
    await randomFiles(src, `data/layer${i}`, 16);
    const tarPath = join(dir, `layer${i}.tar`);
    execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', tarPath, '.']);
    layers.push(await readFile(tarPath));
    await rm(src, { recursive: true });
    await rm(tarPath);
  }
  const config = configFor(layers);
  const archive = join(dir, 'crash.tar');
  await writeFile(archive, await dockerArchive([{ config, layers, repoTags: ['crash:load'] }]));
  const keeperConfig = configFor(layers.slice(0, 1), { author: 'keeper' });
  const keeper = join(dir, 'keeper.tar');
  await writeFile(keeper, await dockerArchive([{ config: keeperConfig, layers: layers.slice(0, 1), repoTags: ['keep:base'] }]));

  const rootSrc = join(dir, 'rootfs');
  await randomFiles(rootSrc, 'usr/share/a', 20);
  await randomFiles(rootSrc, 'usr/share/b', 20);
  await mkdir(join(rootSrc, 'etc'));
  await writeFile(join(rootSrc, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  const rootfs = join(dir, 'rootfs.tar');
  execFileSync('tar', ['-C', rootSrc, '--numeric-owner', '-cf', rootfs, '.']);
  await rm(rootSrc, { recursive: true });
  return {
    dir, archive, archiveSize: (await stat(archive)).size, configId: sha256sum(config), diffIds: layers.map((l) => sha256sum(l)),
    keeper, keeperId: sha256sum(keeperConfig),
    rootfs, rootfsSize: (await stat(rootfs)).size, rootfsDigest: sha256sum(await readFile(rootfs)),
  };
}

/** HTTP status of GET `path` on the daemon's socket. */
function apiStatus(d: BerthdProcess, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.socket, path }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
}

interface Feed {
  /** Bytes written into the CLI's stdin before the kill. */
  written: number;
  /** The CLI's outcome (it loses its daemon). */
  cli: { status: number | null; stderr: string };
}

/**
 * Runs `docker <args>` with `file` fed on stdin in 256 KiB pieces and kills
 * berthd with SIGKILL: once `killAfter` bytes went in (stdin is left open),
 * or — without it — after the whole file went in, as soon as `killWhen()`
 * holds (polled every few ms). Returns once the daemon and the CLI are gone.
 */
async function feedAndKill(d: BerthdProcess, args: string[], file: string, opts: { killAfter?: number; killWhen?: () => boolean }): Promise<Feed> {
  const cli = spawn('docker', args, {
    env: { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  cli.stderr.on('data', (c) => { stderr += c; });
  cli.stdout.resume();
  cli.stdin.on('error', () => { /* the CLI exits once its daemon is gone */ });
  const cliDone = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
  let written = 0;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(256 * 1024);
      for (;;) {
        if (opts.killAfter !== undefined && written >= opts.killAfter) break;
        const { bytesRead } = await fh.read(buf, 0, buf.length, written);
        if (bytesRead === 0) break;
        const chunk = Buffer.from(buf.subarray(0, bytesRead));
        if (!cli.stdin.write(chunk)) await Promise.race([new Promise((r) => cli.stdin.once('drain', r)), cliDone]);
        if (cli.exitCode !== null) throw new Error(`docker ${args.join(' ')} ended (${cli.exitCode}) while being fed: ${stderr}`);
        written += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (opts.killAfter === undefined) {
      cli.stdin.end();
      const t0 = Date.now();
      while (!opts.killWhen!()) {
        if (cli.exitCode !== null) throw new Error(`docker ${args.join(' ')} ended (${cli.exitCode}) before the kill point: ${stderr}`);
        if (Date.now() - t0 > 60_000) throw new Error('the kill point was never reached');
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    await kill9(d);
  } catch (err) {
    if (cli.exitCode === null) cli.kill('SIGKILL');
    throw err;
  }
  cli.stdin.destroy();
  const timer = setTimeout(() => cli.kill('SIGKILL'), 20_000);
  const status = await cliDone;
  clearTimeout(timer);
  return { written, cli: { status, stderr } };
}

async function kill9(d: BerthdProcess): Promise<void> {
  const c = d.child;
  if (c.exitCode !== null || c.signalCode !== null) throw new Error(`berthd had already exited (${c.exitCode ?? c.signalCode}): ${d.stderr()}`);
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

for (const driver of ['vfs', 'overlay2']) {
  const driverSkip = skip || (driver === 'overlay2' && !overlayOk ? 'overlay2 is not supported here' : false);
  describe(`berthd killed with SIGKILL during docker load and docker import (${driver})`, { skip: driverSkip }, () => {
    let d: BerthdProcess;
    let fx: Fixtures;
    const data = () => join(d.dir, 'data');
    const ok = (args: string[]) => {
      const r = d.docker(args, { timeoutMs: 180_000 });
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };

    /** Layer dirs, layerdb entries and scratch dirs are exactly what the stored images name; no mount is left. */
    const assertNoOrphans = (when: string) => {
      const expected = expectedLayout(data(), driver);
      assert.deepEqual(actualLayout(data(), driver), expected, `${when}: on-disk layers differ from what the images reference`);
      assert.deepEqual(mountsUnder(d.dir), [], `${when}: mounts left under the data root`);
      const images = storedImages(data(), driver);
      for (const id of taggedImageIds(data(), driver)) assert.ok(images.has(id), `${when}: repositories.json names ${id}, which is not stored`);
      return expected;
    };

    /** `docker save` of `name` streams the layers' original bytes: each layer file hashes to its diff ID. */
    const assertSaves = async (name: string, diffIds: string[]) => {
      const out = join(fx.dir, 'saved.tar');
      ok(['save', '-o', out, name]);
      const manifest = JSON.parse(execFileSync('tar', ['-xOf', out, 'manifest.json'], { encoding: 'utf8' })) as Array<{ RepoTags: string[]; Layers: string[] }>;
      assert.equal(manifest.length, 1);
      assert.deepEqual(manifest[0]!.RepoTags, [name]);
      assert.deepEqual(manifest[0]!.Layers.map((l) => sha256sum(execFileSync('tar', ['-xOf', out, l], { maxBuffer: 256 * MiB }))), diffIds);
      await rm(out);
    };

    const assertKeeperIntact = async () => {
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}} {{json .RootFS.Layers}}', 'keep:base']).trim(),
        `${fx.keeperId} ["keep:base"] ${JSON.stringify(fx.diffIds.slice(0, 1))}`);
      await assertSaves('keep:base', fx.diffIds.slice(0, 1));
    };

    /** crash:load is either wholly there (ID, tag, layers, save) or not at all (not listed, 404 by tag and by ID). */
    const loadedWholeOrNone = async (): Promise<'whole' | 'none'> => {
      const r = d.docker(['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}} {{json .RootFS.Layers}}', fx.configId]);
      if (r.status === 0) {
        assert.equal(r.stdout.trim(), `${fx.configId} ["crash:load"] ${JSON.stringify(fx.diffIds)}`);
        await assertSaves('crash:load', fx.diffIds);
        return 'whole';
      }
      assert.match(r.stderr, /No such image/);
      const listed = ok(['images', '-a', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
      assert.doesNotMatch(listed, /crash:load/);
      assert.ok(!listed.includes(fx.configId), listed);
      assert.match(d.docker(['image', 'inspect', 'crash:load']).stderr, /No such image: crash:load/);
      assert.equal(await apiStatus(d, `/images/${fx.configId}/json`), 404);
      assert.equal(await apiStatus(d, '/images/crash:load/json'), 404);
      return 'none';
    };

    /** crash:import likewise; no untagged image of that layer may be left either. */
    const importedWholeOrNone = async (): Promise<'whole' | 'none'> => {
      const r = d.docker(['image', 'inspect', '--format', '{{json .RepoTags}} {{json .RootFS.Layers}}', 'crash:import']);
      const holders = [...storedImages(data(), driver)].filter(([, diffs]) => diffs.includes(fx.rootfsDigest)).map(([id]) => id);
      if (r.status === 0) {
        assert.equal(r.stdout.trim(), `["crash:import"] ${JSON.stringify([fx.rootfsDigest])}`);
        assert.deepEqual(holders, [ok(['image', 'inspect', '--format', '{{.Id}}', 'crash:import']).trim()]);
        await assertSaves('crash:import', [fx.rootfsDigest]);
        return 'whole';
      }
      assert.match(r.stderr, /No such image: crash:import/);
      assert.deepEqual(holders, [], 'an image of the half-imported layer is stored');
      assert.doesNotMatch(ok(['images', '-a', '--format', '{{.Repository}}:{{.Tag}}']), /crash:import/);
      assert.equal(await apiStatus(d, '/images/crash:import/json'), 404);
      return 'none';
    };

    const loadAgain = async () => {
      assert.equal(ok(['load', '-i', fx.archive]).trim(), 'Loaded image: crash:load');
      assert.equal(await loadedWholeOrNone(), 'whole');
      assertNoOrphans('after loading the archive again');
      await assertKeeperIntact();
    };

    before(async () => {
      fx = await makeFixtures();
      d = await startBerthd({ 'storage-driver': driver });
      assert.ok(fx.archiveSize > 40 * MiB, `archive of ${fx.archiveSize} bytes`);
    });
    after(async () => {
      try {
        await d?.stop();
      } finally {
        if (fx) await rm(fx.dir, { recursive: true, force: true });
      }
    });

    it('a survivor sharing the first layer is loaded; the store starts clean', async () => {
      assert.equal(ok(['load', '-i', fx.keeper]).trim(), 'Loaded image: keep:base');
      const expected = assertNoOrphans('after loading the keeper');
      assert.equal(expected.layerdb.length, 1);
      assert.equal(expected.driverLayers.length, 1);
    });

    it('kill while the archive is still arriving: the image is absent, nothing is left, a second load succeeds', async () => {
      const feed = await feedAndKill(d, ['load'], fx.archive, { killAfter: Math.floor(fx.archiveSize * 0.4) });
      assert.ok(feed.written < fx.archiveSize);
      assert.notEqual(feed.cli.status, 0, 'docker load cannot have succeeded');
      // The kill landed inside the load: its temp dir holds part of the archive, and no config was stored.
      const loadDirs = readdirSync(join(imageRoot(data(), driver), 'tmp')).filter((n) => n.startsWith('load-'));
      assert.equal(loadDirs.length, 1, 'a load in progress');
      assert.ok(!storedImages(data(), driver).has(fx.configId));

      await d.restart();
      assert.equal(await loadedWholeOrNone(), 'none');
      assertNoOrphans('after the restart');
      await assertKeeperIntact();
      await loadAgain();
      ok(['rmi', 'crash:load']);
      assertNoOrphans('after docker rmi crash:load');
    });

    it('kill while the layers are being registered: the registered ones are collected at restart, a second load succeeds', async () => {
      const sha256Dir = join(imageRoot(data(), driver), 'layerdb', 'sha256');
      const before = readdirSync(sha256Dir).length;
      const feed = await feedAndKill(d, ['load'], fx.archive, { killWhen: () => readdirSync(sha256Dir).length > before });
      assert.equal(feed.written, fx.archiveSize);
      // Killed mid-registration: a layer of crash:load is registered, the image is not stored yet.
      assert.ok(!storedImages(data(), driver).has(fx.configId), 'the kill came after the image was stored');
      const leftover = actualLayout(data(), driver);
      const expected = expectedLayout(data(), driver);
      assert.ok(leftover.layerdb.length > expected.layerdb.length, `registered layers no image holds: ${leftover.layerdb.length - expected.layerdb.length}`);
      assert.ok(leftover.driverLayers.length > expected.driverLayers.length);

      await d.restart();
      assert.equal(await loadedWholeOrNone(), 'none');
      assertNoOrphans('after the restart');
      await assertKeeperIntact();
      await loadAgain();
    });

    it('kill half way through a docker import: no image, no half layer, a second import succeeds', async () => {
      const feed = await feedAndKill(d, ['import', '-', 'crash:import'], fx.rootfs, { killAfter: Math.floor(fx.rootfsSize / 2) });
      assert.notEqual(feed.cli.status, 0, 'docker import cannot have succeeded');
      // The layer was being unpacked straight into the graph driver: a driver dir no layer registration names.
      const leftover = actualLayout(data(), driver);
      assert.ok(leftover.driverLayers.length > expectedLayout(data(), driver).driverLayers.length, 'a half-unpacked layer');
      assert.ok(leftover.scratch.some((n) => n.startsWith('layerdb/tmp/pending-')), leftover.scratch.join(','));

      await d.restart();
      assert.equal(await importedWholeOrNone(), 'none');
      assertNoOrphans('after the restart');
      await assertKeeperIntact();
      assert.equal(await loadedWholeOrNone(), 'whole');

      assert.match(ok(['import', fx.rootfs, 'crash:import']).trim(), /^sha256:[0-9a-f]{64}$/);
      assert.equal(await importedWholeOrNone(), 'whole');
      assertNoOrphans('after importing again');
      ok(['rmi', 'crash:import']);
      assertNoOrphans('after docker rmi crash:import');
    });

    it('kill as the last byte of a docker import goes in: whole image or none, and no orphan either way', async (t) => {
      const feed = await feedAndKill(d, ['import', '-', 'crash:import'], fx.rootfs, { killWhen: () => true });
      assert.equal(feed.written, fx.rootfsSize);
      await d.restart();
      const outcome = await importedWholeOrNone();
      t.diagnostic(`the image was ${outcome === 'whole' ? 'wholly there' : 'absent'} after the restart`);
      assertNoOrphans(`after the restart (image ${outcome})`);
      await assertKeeperIntact();
      assert.equal(await loadedWholeOrNone(), 'whole');
    });
  });
}
