import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InvalidParameterError, NotFoundError, SkipPlugin, silentLogger, type PluginContext } from '../../../kernel/index.js';
import { graphDriverSuite } from '../../conformance/graph-driver.suite.js';
import { tarOf } from '../../conformance/tar-fixtures.js';
import { BtrfsDriver } from '../../../plugins/graph-btrfs/btrfs-driver.js';
import { layerQuota, parseBtrfsOptions } from '../../../plugins/graph-btrfs/btrfs-options.js';
import { probeBtrfs } from '../../../plugins/graph-btrfs/btrfs-probe.js';
import { isSubvolume } from '../../../plugins/graph-btrfs/btrfs-tools.js';
import btrfsPlugin from '../../../plugins/graph-btrfs/manifest.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';
import { mountLoopBtrfs, type BtrfsLoop } from '../../helpers/btrfs-loop.js';

// One loop-backed btrfs for the whole file, unmounted and detached when the process ends even after a failure.
const fs = await mountLoopBtrfs();
const skip = typeof fs === 'string' ? fs : undefined;
if (skip) console.log(`# btrfs tests skipped: ${skip}`);
const loop = typeof fs === 'string' ? null : (fs as BtrfsLoop);
if (loop) after(() => loop.cleanup());

/**
 * The suite hands out a root under the temp dir (not btrfs); each maps to its
 * own directory on the loop filesystem, the same one again after a restart.
 */
const onBtrfs = (root: string) => join(loop!.mnt, basename(dirname(root)));
graphDriverSuite('btrfs', (root) => BtrfsDriver.open(onBtrfs(root)), { skip });

describe('graph-btrfs options (dockerd wording)', () => {
  it('parses btrfs.min_space and turns quotas on', () => {
    assert.deepEqual(parseBtrfsOptions(['btrfs.min_space=10G']), { minSpace: 10 * 1024 ** 3, quota: true });
    assert.deepEqual(parseBtrfsOptions(['BTRFS.MIN_SPACE=1m']), { minSpace: 1024 ** 2, quota: true });
    assert.deepEqual(parseBtrfsOptions([]), { minSpace: 0, quota: false });
  });
  it('refuses unknown keys, bad sizes and missing values', () => {
    assert.throws(() => parseBtrfsOptions(['overlay2.size=1G']), (e: Error) => e instanceof InvalidParameterError && e.message === 'Unknown option overlay2.size');
    assert.throws(() => parseBtrfsOptions(['btrfs.min_space=lots']), /invalid size: 'lots'/);
    assert.throws(() => parseBtrfsOptions(['btrfs.min_space']), /unable to parse storage-opt key\/value: btrfs.min_space/);
  });
  it('checks a layer size as dockerd', () => {
    assert.equal(layerQuota(undefined, 0), null);
    assert.equal(layerQuota({ size: '20m' }, 0), 20 * 1024 ** 2);
    assert.throws(() => layerQuota({ size: '0' }, 0), /btrfs: invalid storage size: 0B/);
    assert.throws(() => layerQuota({ size: '1m' }, 10 * 1024 ** 2), /btrfs: storage size cannot be less than 10.49MB/);
    assert.throws(() => layerQuota({ inodes: '5' }, 0), /Unknown option inodes/);
  });
});

describe('graph-btrfs on a filesystem that is not btrfs', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-notbtrfs-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('skips with the reason, whatever storage-opts say', async (t) => {
    const reason = await probeBtrfs(join(dir, 'btrfs'));
    if (reason === null) return t.skip('the temp dir is itself on btrfs');
    assert.match(reason, /is not a btrfs filesystem/);
    const ctx = {
      id: 'graph-btrfs', name: 'btrfs', config: {}, daemon: { 'storage-opts': ['bogus=1'] },
      paths: { dataRoot: dir, execRoot: dir, root: join(dir, 'btrfs'), state: dir }, log: silentLogger,
    } as unknown as PluginContext;
    await assert.rejects(async () => btrfsPlugin.activate(ctx), (e: unknown) => e instanceof SkipPlugin && /is not a btrfs filesystem/.test(e.reason));
  });
});

describe('graph-btrfs specifics', { skip }, () => {
  let home: string;
  let driver: BtrfsDriver;
  before(async () => {
    home = join(loop!.mnt, 'specifics', 'btrfs');
    driver = await BtrfsDriver.open(home);
  });
  after(() => driver?.dispose());

  it('keeps dockerd\'s layout: each layer a subvolume under subvolumes/, children snapshots', async () => {
    await driver.create('base', null);
    await driver.applyDiff('base', null, await tarOf([{ name: 'f', content: 'base' }]));
    await driver.create('child', 'base');
    assert.equal(await isSubvolume(join(home, 'subvolumes', 'base')), true);
    assert.equal(await isSubvolume(join(home, 'subvolumes', 'child')), true);
    const show = await runCommand('btrfs', ['subvolume', 'show', join(home, 'subvolumes', 'child')]);
    assert.match(show.stdout.toString(), /Parent UUID:\s+[0-9a-f-]{36}/, 'child is a snapshot of base');
    assert.equal(await driver.get('child'), join(home, 'subvolumes', 'child'));
    await driver.put('child');
    assert.deepEqual(await driver.metadata('child'), {});
  });

  it('reports dockerd\'s status rows', async () => {
    const rows = new Map(await driver.status());
    assert.match(rows.get('Build Version') ?? '', /^Btrfs v\d/);
    assert.equal(rows.get('Library Version'), '102');
  });

  it('removes a layer with a subvolume nested inside it', async () => {
    await driver.createReadWrite('nest', 'base');
    const p = await driver.get('nest');
    await runCommand('btrfs', ['subvolume', 'create', join(p, 'inner')]);
    await writeFile(join(p, 'inner', 'x'), 'x');
    await driver.put('nest');
    await driver.remove('nest');
    assert.equal(await driver.exists('nest'), false);
    await assert.rejects(lstat(join(home, 'subvolumes', 'nest')), /ENOENT/);
  });

  it('refuses a bad layer size before creating anything', async () => {
    await assert.rejects(driver.createReadWrite('badsize', 'base', { storageOpt: { size: '0' } }), /btrfs: invalid storage size: 0B/);
    await assert.rejects(driver.createReadWrite('badkey', 'base', { storageOpt: { foo: '1' } }), /Unknown option foo/);
    assert.equal(await driver.exists('badsize'), false);
    await assert.rejects(driver.get('nope'), NotFoundError);
  });

  it('limits a layer with --storage-opt size through a qgroup, and keeps the limit across a restart', async (t) => {
    await driver.createReadWrite('sized', 'base', { storageOpt: { size: '8M' } });
    assert.equal((await readFile(join(home, 'quotas', 'sized'), 'utf8')).trim(), String(8 * 1024 ** 2));
    const show = await runCommand('btrfs', ['qgroup', 'show', '-re', '--raw', home]);
    if (show.code !== 0) return t.skip(`qgroups unavailable: ${show.stderr}`);
    assert.match(show.stdout.toString(), new RegExp(`\\b${8 * 1024 ** 2}\\b`), 'max_rfer set to 8 MiB');
    await driver.dispose();
    driver = await BtrfsDriver.open(home);
    const p = await driver.get('sized');
    try {
      // Writing past the limit fails with EDQUOT.
      const big = Buffer.alloc(1024 * 1024, 7);
      let err: NodeJS.ErrnoException | null = null;
      for (let i = 0; i < 16 && !err; i++) {
        await writeFile(join(p, `big${i}`), big).catch((e: NodeJS.ErrnoException) => { err = e; });
        await runCommand('sync', []);
      }
      // libuv has no name for EDQUOT; its number is what Node reports.
      assert.equal(Math.abs((err as NodeJS.ErrnoException | null)?.errno ?? 0), constants.errno.EDQUOT, String(err));
    } finally {
      await driver.put('sized');
    }
    await driver.remove('sized');
    await assert.rejects(lstat(join(home, 'quotas', 'sized')), /ENOENT/);
  });

  it('refuses sizes below btrfs.min_space', async () => {
    const d = await BtrfsDriver.open(join(loop!.mnt, 'minspace', 'btrfs'), { storageOpts: ['btrfs.min_space=16M'] });
    try {
      await d.create('b', null);
      await assert.rejects(d.createReadWrite('c', 'b', { storageOpt: { size: '8M' } }), /btrfs: storage size cannot be less than 16.78MB/);
      await d.createReadWrite('c', 'b', { storageOpt: { size: '32M' } });
    } finally {
      await d.dispose();
    }
  });
});
