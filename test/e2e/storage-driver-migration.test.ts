import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BERTHD, dockerCliAvailable, overlay2Supported, runBerthd, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable, busyboxRootfsTar } from '../helpers/busybox-rootfs.js';
import { mountLoopBtrfs, type BtrfsLoop } from '../helpers/btrfs-loop.js';
import { configFor, dockerArchive, fileLayer } from '../helpers/image-archives.js';
import { actualLayout, expectedLayout } from '../helpers/image-store-disk.js';
import { removeCgroupParent } from '../conformance/exec/cgroup-cleanup.js';
import { importBusybox } from './containers/bbox-image.js';

/**
 * Issue 7, "hot swap" of the storage driver: a restart on another driver
 * does not lose images from view. berthd says which images stay under the
 * old driver (log, `docker info` Warnings) and migrates them — with
 * `berthd migrate-images` while stopped (vfs → overlay2, killed once in the
 * middle and run again) or with the opt-in `migrate-on-start` (vfs → btrfs
 * on a loop-mounted btrfs). Image IDs, diff IDs and tags stay the same; the
 * old store is left as it was; the images run on the new driver.
 */
const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : undefined;

/** A stable picture of a store: image configs, layer registrations, references, and the vfs driver's layers. */
function fingerprint(dataRoot: string, driver: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    h.update(relative(dataRoot, p));
    if (!statSync(p).isDirectory()) { h.update(readFileSync(p)); return; }
    for (const name of readdirSync(p).sort()) walk(join(p, name));
  };
  for (const sub of ['imagedb', 'layerdb/sha256', 'repositories.json']) walk(join(dataRoot, 'image', driver, sub));
  walk(join(dataRoot, 'vfs', 'meta'));
  for (const name of existsSync(join(dataRoot, 'vfs', 'dir')) ? readdirSync(join(dataRoot, 'vfs', 'dir')).sort() : []) h.update(name);
  return h.digest('hex');
}

interface Images { [tag: string]: { id: string; layers: string } }

function images(d: BerthdProcess): Images {
  const out: Images = {};
  const r = d.docker(['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.equal(r.status, 0, r.stderr);
  for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
    const [tag, id] = line.split(' ');
    out[tag!] = { id: id!, layers: d.docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag!]).stdout.trim() };
  }
  return out;
}

/** Fills a vfs store: busybox (one layer), a two-layer image on top of it, a second tag, a 16 MiB random layer. */
async function seedVfs(d: BerthdProcess): Promise<void> {
  await importBusybox(d, 'bbox:1');
  const rootfs = await busyboxRootfsTar();
  try {
    const base = await readFile(rootfs.tar);
    const hello = await fileLayer('hello.txt', 'hello from the migrated layer\n');
    const big = await fileLayer('big.bin', randomBytes(16 * 1024 * 1024).toString('base64'));
    const archive = await dockerArchive([
      { config: configFor([base, hello], { config: { Cmd: ['cat', '/hello.txt'] } }), layers: [base, hello], repoTags: ['stack:1'] },
      { config: configFor([base, big], { config: { Cmd: ['true'] } }), layers: [base, big], repoTags: ['big:1'] },
    ]);
    const r = d.docker(['load'], { input: archive, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    await rootfs.cleanup();
  }
  assert.equal(d.docker(['tag', 'bbox:1', 'another/name:v2']).status, 0);
}

describe('storage-driver change: images are not lost from view', { skip }, () => {
  let dir: string;
  let cgroupParent: string;
  const daemons: BerthdProcess[] = [];
  const start = async (dataRoot: string, config: Record<string, unknown>) => {
    const d = await startBerthd({ 'cgroup-parent': cgroupParent, ...config }, [], { dataRoot });
    daemons.push(d);
    return d;
  };
  const stop = async (d: BerthdProcess) => {
    const ids = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) d.docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
    await d.stop();
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-migrate-'));
    cgroupParent = `/berth-migrate-${process.pid}`;
    await writeFile(join(dir, 'empty.json'), '{}');
  });
  after(async () => {
    for (const d of daemons) await stop(d).catch(() => {});
    removeCgroupParent(cgroupParent);
    await rm(dir, { recursive: true, force: true });
  });

  it('migrate-images checks its arguments', () => {
    const none = runBerthd(['migrate-images', '--to', 'vfs']);
    assert.equal(none.status, 125);
    assert.match(none.stderr, /--from is required/);
    const same = runBerthd(['migrate-images', '--from', 'vfs', '--to', 'vfs', '--data-root', join(dir, 'x'), '--config-file', join(dir, 'empty.json')]);
    assert.equal(same.status, 125);
    assert.match(same.stderr, /--from and --to are both vfs/);
    const help = runBerthd(['migrate-images', '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage:\tberthd migrate-images --from DRIVER/);
    const unknown = runBerthd(['migrate-images', '--from', 'vfs', '--bogus']);
    assert.equal(unknown.status, 125);
    assert.match(unknown.stderr, /unknown flag: --bogus/);
  });

  it('vfs → overlay2 with berthd migrate-images (interrupted once, then resumed)', { timeout: 600_000 }, async (t) => {
    if (!(await overlay2Supported())) return t.skip('overlay2 is not supported here');
    const dataRoot = join(dir, 'a');
    const v = await start(dataRoot, { 'storage-driver': 'vfs' });
    await seedVfs(v);
    const before = images(v);
    assert.deepEqual(Object.keys(before).sort(), ['another/name:v2', 'bbox:1', 'big:1', 'stack:1']);
    assert.equal(v.docker(['create', '--name', 'oldc', 'bbox:1', 'true']).status, 0);
    await v.stop(); // the container stays, on vfs
    const vfsPrint = fingerprint(dataRoot, 'vfs');

    // On overlay2 the vfs images are not there, and berthd says so (log and docker info).
    const o = await start(dataRoot, { 'storage-driver': 'overlay2' });
    assert.deepEqual(images(o), {});
    const info = o.docker(['info']);
    assert.match(info.stderr + info.stdout, /WARNING: 3 images stay under the previous storage driver "vfs" and are not available with "overlay2" \(another\/name:v2, big:1, stack:1\): stop berthd and run 'berthd migrate-images --from vfs --to overlay2'/);
    assert.match(o.stderr(), /level=warn msg="3 images stay under the previous storage driver \\"vfs\\"/, 'logged at start');
    // A container made on vfs cannot start on overlay2, and says why.
    const oldc = o.docker(['start', 'oldc']);
    assert.notEqual(oldc.status, 0);
    assert.match(oldc.stderr, /was created with storage driver vfs, and the daemon runs overlay2: its filesystem is only available with "storage-driver": "vfs"/);
    // The daemon is running on that data root: the command refuses (dockerd's pidfile message).
    const pidfile = join(o.dir, 'berthd.pid');
    const cfg = join(dir, 'empty.json');
    const args = ['migrate-images', '--from', 'vfs', '--to', 'overlay2', '--data-root', dataRoot, '--config-file', cfg];
    const busy = runBerthd([...args, '--pidfile', pidfile]);
    assert.notEqual(busy.status, 0);
    assert.match(busy.stderr, /pid file found, ensure berthd is not running or delete/);
    await stop(o);

    // Killed as soon as it starts copying: the vfs store is untouched.
    const killed = await new Promise<string>((resolve) => {
      const c = spawn(BERTHD, [...args, '--pidfile', join(dir, 'm.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (b) => { out += b; if (out.includes('Migrating')) c.kill('SIGKILL'); });
      c.on('exit', () => resolve(out));
    });
    assert.match(killed, /Migrating/);
    assert.equal(fingerprint(dataRoot, 'vfs'), vfsPrint, 'an interrupted migration leaves the old store as it was');

    const done = runBerthd([...args, '--pidfile', join(dir, 'm.pid')]);
    assert.equal(done.status, 0, done.stderr);
    assert.match(done.stdout, /image\(s\) migrated from vfs to overlay2/);
    assert.equal(fingerprint(dataRoot, 'vfs'), vfsPrint, 'a migration copies, it does not move');
    const again = runBerthd([...args, '--pidfile', join(dir, 'm.pid')]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^0 image\(s\) migrated from vfs to overlay2; 3 already present; 0 reference\(s\) added/m);

    const o2 = await start(dataRoot, { 'storage-driver': 'overlay2' });
    assert.deepEqual(images(o2), before, 'same image IDs, tags and diff IDs');
    assert.deepEqual(actualLayout(dataRoot, 'overlay2'), expectedLayout(dataRoot, 'overlay2'), 'no layer left over from the killed run');
    assert.equal(o2.docker(['image', 'inspect', '--format', '{{.GraphDriver.Name}}', 'stack:1']).stdout.trim(), 'overlay2');
    const info2 = o2.docker(['info']);
    assert.doesNotMatch(info2.stderr + info2.stdout, /previous storage driver/);
    const run = o2.docker(['run', '--rm', 'stack:1']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello from the migrated layer\n');
    assert.equal(o2.docker(['run', '--rm', 'bbox:1', 'echo', 'ok']).stdout, 'ok\n');
    // docker save gives back the layers byte for byte (their digests are the diff IDs).
    assert.equal(o2.docker(['save', '-o', join(dir, 'big.tar'), 'big:1']).status, 0);
    await stop(o2);
    assert.equal(fingerprint(dataRoot, 'vfs'), vfsPrint);
  });

  it('vfs → btrfs at start with "migrate-on-start"', { timeout: 600_000 }, async (t) => {
    const fs = await mountLoopBtrfs();
    if (typeof fs === 'string') return t.skip(fs);
    const loop = fs as BtrfsLoop;
    try {
      const dataRoot = join(loop.mnt, 'data');
      const v = await start(dataRoot, { 'storage-driver': 'vfs' });
      await seedVfs(v);
      const before = images(v);
      await stop(v);
      const b = await start(dataRoot, { 'storage-driver': 'btrfs', berth: { plugins: { 'image-store': { 'migrate-on-start': true } } } });
      assert.deepEqual(images(b), before);
      assert.match(b.stderr(), /image migration: 3 image\(s\) migrated from vfs to btrfs/);
      const info = b.docker(['info']);
      assert.doesNotMatch(info.stderr + info.stdout, /previous storage driver/);
      const run = b.docker(['run', '--rm', 'stack:1']);
      assert.equal(run.stdout, 'hello from the migrated layer\n', run.stderr);
      await stop(b);
    } finally {
      await loop.cleanup();
    }
  });
});
