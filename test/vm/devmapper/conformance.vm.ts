/**
 * devicemapper on a real kernel device-mapper (inside the dmvm VM; see
 * test/vm/devmapper-vm.test.ts): the graph-driver conformance suite, then
 * what only this driver has — dockerd's on-disk layout, thin snapshots of a
 * mounted origin, restart with the same device ids, crash roll-back, deferred
 * deletion of a busy device, --storage-opt size, xfs, dm.thinpooldev.
 *
 * Sizes are small (128M base, 1G sparse pool) so that mkfs and the pool stay
 * cheap under software emulation; the code paths are the default ones.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphDriverSuite } from '../../conformance/graph-driver.suite.js';
import { mountsUnder } from '../../conformance/tar-fixtures.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';
import { DevmapperDriver } from '../../../plugins/graph-devmapper/devmapper-driver.js';

const SMALL = ['dm.basesize=128M', 'dm.loopdatasize=1G', 'dm.loopmetadatasize=32M'];

const noDm = spawnSync('dmsetup', ['targets']).status !== 0 ? 'no device-mapper in this kernel (run through test/vm/dmvm)' : undefined;

// The suite checks user.* xattrs on its temp dir, which tmpfs on this kernel lacks: guest-run.sh mounts an
// ext4 scratch filesystem (BERTH_VM_EXT4_TMP) for the suite; the driver's own devices are ext4 anyway.
describe('on an ext4 scratch dir', { skip: noDm }, () => {
  const saved = process.env.TMPDIR;
  before(() => { if (process.env.BERTH_VM_EXT4_TMP) process.env.TMPDIR = process.env.BERTH_VM_EXT4_TMP; });
  after(() => { if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved; });
  graphDriverSuite('devicemapper', (root) => DevmapperDriver.open(root, { storageOpts: SMALL }), { skip: noDm, timeScale: 6, chainLength: 24 });
});

const dmsetup = (...args: string[]) => execFileSync('dmsetup', args, { encoding: 'utf8' });
const dmNames = () => dmsetup('ls').split('\n').map((l) => l.split(/\s+/)[0]!).filter((n) => n && n !== 'No');

describe('devicemapper on device-mapper', { skip: noDm }, () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-dm-')); });
  after(async () => {
    for (const m of (await mountsUnder(dir)).reverse()) await runCommand('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps dockerd\'s layout and ids, snapshots a mounted origin, and comes back after a restart', async () => {
    const root = join(dir, 'layout');
    let d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    const prefix = d.devices.devicePrefix;
    const st = await stat(root, { bigint: true });
    assert.match(prefix, new RegExp(`^docker-\\d+:\\d+-${st.ino}$`));
    assert.ok(dmNames().includes(`${prefix}-pool`));
    assert.match(dmsetup('table', `${prefix}-pool`), /^0 2097152 thin-pool \d+:\d+ \d+:\d+ 128 32768 1 skip_block_zeroing/);
    const data = await stat(join(root, 'devicemapper', 'data'));
    assert.equal(data.size, 1024 ** 3);
    assert.ok(data.blocks * 512 < 64 * 1024 ** 2, 'the data file is sparse');
    const rows = new Map(await d.status());
    assert.equal(rows.get('Pool Name'), `${prefix}-pool`);
    assert.equal(rows.get('Backing Filesystem'), 'ext4');
    assert.equal(rows.get('Base Device Size'), '134.2MB');
    assert.equal(rows.get('Data loop file'), join(root, 'devicemapper', 'data'));
    assert.match(rows.get('Library Version') ?? '', /^1\.02\.\d+/);

    await d.create('img', null);
    const img = await d.get('img');
    assert.equal(img, join(root, 'mnt', 'img', 'rootfs'));
    await writeFile(join(img, 'f'), 'v1');
    assert.match(dmsetup('table', `${prefix}-img`), new RegExp(`^0 262144 thin \\d+:\\d+ ${(await d.metadata('img')).DeviceId}`));
    // Snapshot while the origin is mounted and written to: the origin is suspended for create_snap.
    await d.createReadWrite('ctr', 'img');
    await writeFile(join(img, 'f'), 'v2-after-snapshot');
    const ctr = await d.get('ctr');
    assert.equal(await readFile(join(ctr, 'f'), 'utf8'), 'v1', 'the snapshot holds the origin as it was');
    await writeFile(join(ctr, 'g'), 'only in ctr');
    assert.equal(await readFile(join(img, 'f'), 'utf8'), 'v2-after-snapshot');
    await d.put('ctr');
    await d.put('img');
    assert.ok(!dmNames().includes(`${prefix}-ctr`), 'deactivated on the last put');
    const meta = await d.metadata('ctr');
    assert.deepEqual(Object.keys(meta).sort(), ['DeviceId', 'DeviceName', 'DeviceSize']);
    const onDisk = JSON.parse(await readFile(join(root, 'metadata', 'ctr'), 'utf8'));
    assert.deepEqual(Object.keys(onDisk).sort(), ['deleted', 'device_id', 'initialized', 'size', 'transaction_id']);
    assert.equal(String(onDisk.device_id), meta.DeviceId);
    const tid = Number(dmsetup('status', `${prefix}-pool`).split(' ')[3]);
    assert.equal(JSON.parse(await readFile(join(root, 'metadata', 'transaction-metadata'), 'utf8')).open_transaction_id, tid, 'every transaction committed');

    await d.dispose();
    assert.ok(!dmNames().some((n) => n.startsWith(prefix)), 'pool and devices deactivated');
    assert.doesNotMatch(execFileSync('losetup', ['-a'], { encoding: 'utf8' }), new RegExp(root), 'loop devices detached');

    d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    assert.deepEqual(await d.metadata('ctr'), meta, 'same device id after a restart');
    const again = await d.get('ctr');
    assert.equal(await readFile(join(again, 'g'), 'utf8'), 'only in ctr');
    await d.put('ctr');
    await d.dispose();
  });

  it('rolls back a snapshot the daemon died creating (pool transaction id behind the saved one)', async () => {
    const root = join(dir, 'crash');
    let d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    const pool = `/dev/mapper/${d.devices.devicePrefix}-pool`;
    await d.create('kept', null);
    const tid = Number(dmsetup('status', pool).split(' ')[3]);
    // What a kill -9 between "create_snap" and "set_transaction_id" leaves behind.
    dmsetup('message', pool, '0', 'create_snap 99 1');
    await writeFile(join(root, 'metadata', 'half'), JSON.stringify({ device_id: 99, size: 134217728, transaction_id: tid + 1, initialized: false, deleted: false }));
    await writeFile(join(root, 'metadata', 'transaction-metadata'), JSON.stringify({ open_transaction_id: tid + 1, device_hash: 'half', device_id: 99 }));
    await d.dispose();
    d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    assert.equal(await d.exists('half'), false);
    await assert.rejects(readFile(join(root, 'metadata', 'half')), /ENOENT/);
    assert.throws(() => dmsetup('message', pool, '0', 'delete 99'), 'thin device 99 is gone from the pool');
    assert.equal(await d.exists('kept'), true);
    await d.dispose();
  });

  it('defers deleting a device that is still open, and deletes it once released', async () => {
    const root = join(dir, 'deferred');
    const d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    await d.create('held', null);
    await d.get('held');
    const name = (await d.metadata('held')).DeviceName;
    const fh = await open(`/dev/mapper/${name}`, 'r'); // someone outside berthd holds the device
    try {
      await d.put('held');
      assert.match(dmsetup('info', name), /DEFERRED REMOVE/);
      await d.remove('held');
      assert.equal(await d.exists('held'), true, 'marked deleted, not gone');
      assert.equal(new Map(await d.status()).get('Deferred Deleted Device Count'), '1');
    } finally {
      await fh.close();
    }
    await d.devices.retryDeletedDevices();
    assert.equal(await d.exists('held'), false);
    assert.equal(new Map(await d.status()).get('Deferred Deleted Device Count'), '0');
    await d.dispose();
  });

  it('grows a container device given --storage-opt size', async () => {
    const root = join(dir, 'size');
    const d = await DevmapperDriver.open(root, { storageOpts: SMALL });
    await d.create('base-layer', null);
    await d.createReadWrite('big', 'base-layer', { storageOpt: { size: '512M' } });
    const p = await d.get('big');
    const fs = await statfs(p);
    assert.ok(fs.blocks * fs.bsize > 400 * 1024 ** 2, `filesystem grown to ${fs.blocks * fs.bsize}`);
    await d.put('big');
    await assert.rejects(d.createReadWrite('small', 'base-layer', { storageOpt: { size: '64M' } }), /Container size cannot be smaller than 134.2MB/);
    await d.dispose();
  });

  it('formats the base device with xfs (dm.fs=xfs) and mounts its snapshots with nouuid', async () => {
    const root = join(dir, 'xfs');
    const d = await DevmapperDriver.open(root, { storageOpts: ['dm.fs=xfs', 'dm.basesize=320M', 'dm.loopdatasize=1G', 'dm.loopmetadatasize=32M'] });
    assert.equal(new Map(await d.status()).get('Backing Filesystem'), 'xfs');
    await d.create('a', null);
    const a = await d.get('a');
    await writeFile(join(a, 'x'), 'xfs!');
    await d.create('b', 'a');
    const b = await d.get('b'); // same filesystem UUID as a, both mounted
    assert.equal(await readFile(join(b, 'x'), 'utf8'), 'xfs!');
    assert.match(await readFile('/proc/self/mounts', 'utf8'), new RegExp(`${join(root, 'mnt', 'b')} xfs [^ ]*nouuid`));
    await d.put('b');
    await d.put('a');
    await d.dispose();
  });

  it('uses a pool given with dm.thinpooldev and leaves it in place', async () => {
    const root = join(dir, 'given');
    const files = join(dir, 'given-pool');
    execFileSync('mkdir', ['-p', files]);
    execFileSync('truncate', ['-s', '1G', join(files, 'data')]);
    execFileSync('truncate', ['-s', '32M', join(files, 'meta')]);
    const dataDev = execFileSync('losetup', ['--find', '--show', join(files, 'data')], { encoding: 'utf8' }).trim();
    const metaDev = execFileSync('losetup', ['--find', '--show', join(files, 'meta')], { encoding: 'utf8' }).trim();
    const pool = `berth-test-pool-${process.pid}`;
    dmsetup('create', pool, '--table', `0 2097152 thin-pool ${metaDev} ${dataDev} 128 32768 1 skip_block_zeroing`);
    try {
      const d = await DevmapperDriver.open(root, { storageOpts: [`dm.thinpooldev=/dev/mapper/${pool}`, 'dm.basesize=128M'] });
      const rows = new Map(await d.status());
      assert.equal(rows.get('Pool Name'), pool);
      assert.equal(rows.has('Data loop file'), false);
      await d.create('l', null);
      await d.dispose();
      assert.ok(dmNames().includes(pool), 'the administrator\'s pool stays');
      assert.match(dmsetup('status', pool), / thin-pool [1-9]\d* /, 'it holds our transactions');
    } finally {
      for (const n of dmNames()) if (n.startsWith('docker-') && n.includes(String((await stat(root)).ino))) spawnSync('dmsetup', ['remove', n]);
      spawnSync('dmsetup', ['remove', pool]);
      spawnSync('losetup', ['--detach', dataDev]);
      spawnSync('losetup', ['--detach', metaDev]);
    }
  });
});
