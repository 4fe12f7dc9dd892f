/**
 * devicemapper pieces that need no device-mapper: dockerd's dm.* options and
 * errors, the metadata files, the dmsetup command lines and output parsers,
 * the docker info rows, and the whole driver flow (pool, base device,
 * snapshots, transactions, roll-back after a crash) against FakeDm. The
 * real thing runs in the VM (test/vm/devmapper/).
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, SkipPlugin, silentLogger, type PluginContext } from '../../../kernel/index.js';
import { parseDmOptions } from '../../../plugins/graph-devmapper/dm-options.js';
import { DeviceIdAllocator, MetadataStore, deviceKey, hashOfKey, MAX_DEVICE_ID } from '../../../plugins/graph-devmapper/device-metadata.js';
import { parseInfo, parsePoolStatus, parseTableLine, poolTable, thinTable } from '../../../plugins/graph-devmapper/dmsetup.js';
import { statusRows } from '../../../plugins/graph-devmapper/status-rows.js';
import { DevmapperDriver } from '../../../plugins/graph-devmapper/devmapper-driver.js';
import { humanSize } from '../../../lib/go-size.js';
import devmapperPlugin from '../../../plugins/graph-devmapper/manifest.js';
import { FakeDm } from './fake-dm.js';

describe('devicemapper storage-opts (dockerd NewDeviceSet)', () => {
  it('has dockerd\'s defaults: 100G/2G sparse loop files, 10G base, 64K blocks, 10% free space, ext4', () => {
    const o = parseDmOptions([]);
    assert.equal(o.dataLoopbackSize, 100 * 1024 ** 3);
    assert.equal(o.metaDataLoopbackSize, 2 * 1024 ** 3);
    assert.equal(o.baseFsSize, 10 * 1024 ** 3);
    assert.equal(o.thinpBlockSize, 128);
    assert.equal(o.minFreeSpacePercent, 10);
    assert.equal(o.filesystem, 'ext4');
    assert.equal(o.blkDiscard, true);
    assert.equal(o.deferredRemoval, undefined, 'on by default when the kernel and libdm can');
  });

  it('parses every key, case-insensitively, with go-units sizes', () => {
    const o = parseDmOptions([
      'dm.basesize=20G', 'DM.LoopDataSize=200GB', 'dm.loopmetadatasize=4g', 'dm.fs=xfs', 'dm.mkfsarg=-K', 'dm.mkfsarg=-m0',
      'dm.mountopt=nodiscard', 'dm.mountopt=noatime', 'dm.blocksize=512K', 'dm.min_free_space=5%', 'dm.use_deferred_removal=true',
      'dm.use_deferred_deletion=1', 'dm.override_udev_sync_check=T', 'dm.xfs_nospace_max_retries=0', 'dm.libdm_log_level=7',
    ]);
    assert.equal(o.baseFsSize, 20 * 1024 ** 3);
    assert.equal(o.userBaseSize, true);
    assert.equal(o.dataLoopbackSize, 200 * 1024 ** 3);
    assert.equal(o.metaDataLoopbackSize, 4 * 1024 ** 3);
    assert.equal(o.filesystem, 'xfs');
    assert.deepEqual(o.mkfsArgs, ['-K', '-m0']);
    assert.equal(o.mountOptions, 'nodiscard,noatime');
    assert.equal(o.thinpBlockSize, 1024);
    assert.equal(o.minFreeSpacePercent, 5);
    assert.equal(o.deferredRemoval, true);
    assert.equal(o.deferredDeletion, true);
    assert.equal(o.overrideUdevSyncCheck, true);
    assert.equal(o.xfsNospaceRetries, '0');
  });

  it('takes an existing pool (dm.thinpooldev, /dev/mapper/ stripped) and then does not discard by default', () => {
    const o = parseDmOptions(['dm.thinpooldev=/dev/mapper/vg-docker--pool']);
    assert.equal(o.thinPoolDevice, 'vg-docker--pool');
    assert.equal(o.blkDiscard, false);
    assert.equal(parseDmOptions(['dm.thinpooldev=p', 'dm.blkdiscard=true']).blkDiscard, true);
    assert.equal(parseDmOptions(['dm.datadev=/dev/sdb', 'dm.metadatadev=/dev/sdc']).blkDiscard, false);
  });

  it('answers bad options with dockerd\'s errors', () => {
    const err = (opts: string[]) => {
      try {
        parseDmOptions(opts);
      } catch (e) {
        assert.ok(e instanceof InvalidParameterError, String(e));
        return (e as Error).message;
      }
      assert.fail(`accepted ${opts.join(' ')}`);
    };
    assert.equal(err(['dm.nosuch=1']), 'devmapper: Unknown option dm.nosuch');
    assert.equal(err(['overlay2.size=1G']), 'devmapper: Unknown option overlay2.size');
    assert.equal(err(['dm.fs=btrfs']), 'devmapper: Unsupported filesystem btrfs');
    assert.equal(err(['dm.min_free_space=10']), 'devmapper: Option dm.min_free_space requires % suffix');
    assert.equal(err(['dm.min_free_space=100%']), 'devmapper: Invalid value 100% for option dm.min_free_space');
    assert.equal(err(['dm.use_deferred_removal=yes']), 'strconv.ParseBool: parsing "yes": invalid syntax');
    assert.equal(err(['dm.basesize=ten']), "invalid size: 'ten'");
    assert.equal(err(['dm.basesize']), 'Unable to parse key/value option: dm.basesize');
    assert.equal(err(['dm.libdm_log_level=9']), 'dm.libdm_log_level must be in range [2,7]');
    assert.match(err(['dm.directlvm_device=/dev/xvdf']), /direct-lvm setup is not supported by berth.*dm\.thinpooldev/);
  });
});

describe('devicemapper metadata files (dockerd\'s <root>/metadata)', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-dm-meta-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('writes dockerd\'s JSON, atomically, and reads it back', async () => {
    const store = new MetadataStore(dir);
    await store.save({ hash: 'abc', deviceId: 7, size: 10737418240, transactionId: 9, initialized: false, deleted: false });
    await store.save({ hash: '', deviceId: 1, size: 10737418240, transactionId: 1, initialized: true, deleted: false });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'abc'), 'utf8')), { device_id: 7, size: 10737418240, transaction_id: 9, initialized: false, deleted: false });
    assert.ok((await stat(join(dir, 'base'))).isFile(), 'the base device is "base"');
    await store.saveTransaction({ openTransactionId: 10, deviceHash: 'abc', deviceId: 7 });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'transaction-metadata'), 'utf8')), { open_transaction_id: 10, device_hash: 'abc', device_id: 7 });
    await store.saveDeviceSet({ nextDeviceId: 8, baseDeviceUUID: 'u', baseDeviceFilesystem: 'ext4' });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'deviceset-metadata'), 'utf8')), { next_device_id: 8, BaseDeviceUUID: 'u', BaseDeviceFilesystem: 'ext4' });
    await writeFile(join(dir, '.abc.123.tmp'), '{"torn'); // a temp file left by a crash
    const all = await store.loadAll();
    assert.deepEqual([...all.keys()].sort(), ['', 'abc']);
    assert.equal(all.get('')?.initialized, true);
    assert.deepEqual(await store.loadTransaction(), { openTransactionId: 10, deviceHash: 'abc', deviceId: 7 });
    await store.remove('abc');
    assert.equal(await store.load('abc'), null);
    assert.deepEqual((await readdir(dir)).filter((n) => !n.startsWith('.')).sort(), ['base', 'deviceset-metadata', 'transaction-metadata']);
  });

  it('ignores device ids beyond 24 bits, as dockerd', async () => {
    await writeFile(join(dir, 'big'), JSON.stringify({ device_id: MAX_DEVICE_ID + 1, size: 1 }));
    assert.equal(await new MetadataStore(dir).load('big'), null);
  });

  it('escapes ids that would collide with the driver\'s own names', () => {
    for (const id of ['base', 'pool', 'deviceset-metadata', 'transaction-metadata', '.hidden', 'a b', 'x.migrated', 'ünï']) {
      const key = deviceKey(id);
      assert.match(key, /^\+[0-9a-f]+$/, id);
      assert.equal(hashOfKey(key), id);
    }
    const hex = 'a'.repeat(64);
    assert.equal(deviceKey(hex), hex);
    assert.equal(deviceKey(`${hex}-init`), `${hex}-init`);
    assert.equal(deviceKey(''), 'base');
    assert.equal(hashOfKey('base'), '');
  });

  it('hands out free 24-bit device ids after the last one, wrapping', () => {
    const ids = new DeviceIdAllocator(0);
    ids.markUsed(1);
    assert.equal(ids.allocate(), 2);
    ids.next = MAX_DEVICE_ID - 1;
    assert.equal(ids.allocate(), MAX_DEVICE_ID);
    assert.equal(ids.allocate(), 0);
    assert.equal(ids.allocate(), 3, '1 and 2 are taken');
    ids.markFree(2);
    ids.next = 0;
    assert.equal(ids.allocate(), 2);
  });
});

describe('dmsetup lines', () => {
  it('builds dockerd\'s pool and thin tables', () => {
    assert.equal(poolTable(209715200, '/dev/loop1', '/dev/loop0', 128), '0 209715200 thin-pool /dev/loop1 /dev/loop0 128 32768 1 skip_block_zeroing');
    assert.equal(thinTable(10 * 1024 ** 3, '/dev/mapper/docker-8:1-42-pool', 5), '0 20971520 thin /dev/mapper/docker-8:1-42-pool 5');
  });

  it('parses info, status and thin-pool status', () => {
    const info = parseInfo('Name:              x\nState:             ACTIVE (DEFERRED REMOVE)\nRead Ahead:        256\nTables present:    LIVE\nOpen count:        2\nEvent number:      0\nMajor, minor:      253, 4\nNumber of targets: 1\n');
    assert.deepEqual(info, { exists: true, openCount: 2, suspended: false, deferredRemove: true, major: 253, minor: 4 });
    assert.equal(parseInfo('State:             SUSPENDED\nOpen count:        0\n').suspended, true);
    const s = parseTableLine('0 2097152 thin-pool 5 171/8192 219/16384 - rw discard_passdown queue_if_no_space - 1024\n');
    assert.deepEqual(parsePoolStatus(s), { totalSectors: 2097152, transactionId: 5, metadataUsed: 171, metadataTotal: 8192, dataUsed: 219, dataTotal: 16384 });
    assert.throws(() => parseTableLine('garbage'), /cannot parse/);
  });
});

describe('docker info rows', () => {
  it('formats them as dockerd (go-units HumanSize, dockerd 20.10 order)', () => {
    assert.equal(humanSize(65536), '65.54kB');
    assert.equal(humanSize(107374182400), '107.4GB');
    assert.equal(humanSize(0), '0B');
    const rows = statusRows({
      poolName: 'docker-8:1-42-pool', dataFile: '/dev/loop0', dataLoopback: '/var/lib/berth/devicemapper/devicemapper/data',
      metadataFile: '/dev/loop1', metadataLoopback: '/var/lib/berth/devicemapper/devicemapper/metadata',
      data: { used: 11.8e6, total: 107374182400, available: 107362382400 }, metadata: { used: 581632, total: 2147483648, available: 2146902016 },
      baseDeviceSize: 10737418240, baseDeviceFS: 'ext4', sectorSize: 65536, udevSyncSupported: true, deferredRemoveEnabled: true,
      deferredDeleteEnabled: true, deferredDeletedDeviceCount: 0, minFreeSpace: 10737418240, libraryVersion: '1.02.185 (2022-05-18)',
    });
    assert.deepEqual(rows, [
      ['Pool Name', 'docker-8:1-42-pool'], ['Pool Blocksize', '65.54kB'], ['Base Device Size', '10.74GB'], ['Backing Filesystem', 'ext4'],
      ['Udev Sync Supported', 'true'], ['Data file', '/dev/loop0'], ['Metadata file', '/dev/loop1'],
      ['Data loop file', '/var/lib/berth/devicemapper/devicemapper/data'], ['Metadata loop file', '/var/lib/berth/devicemapper/devicemapper/metadata'],
      ['Data Space Used', '11.8MB'], ['Data Space Total', '107.4GB'], ['Data Space Available', '107.4GB'],
      ['Metadata Space Used', '581.6kB'], ['Metadata Space Total', '2.147GB'], ['Metadata Space Available', '2.147GB'],
      ['Thin Pool Minimum Free Space', '10.74GB'], ['Deferred Removal Enabled', 'true'], ['Deferred Deletion Enabled', 'true'],
      ['Deferred Deleted Device Count', '0'], ['Library Version', '1.02.185 (2022-05-18)'],
    ]);
  });
});

describe('devicemapper driver against a fake device-mapper', () => {
  let dir: string;
  let fake: FakeDm;
  const small = ['dm.loopdatasize=1G', 'dm.loopmetadatasize=64M', 'dm.basesize=1G'];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-dm-fake-'));
    fake = new FakeDm();
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const open = (opts: string[] = small) => DevmapperDriver.open(dir, { storageOpts: opts, run: fake.run });

  it('makes sparse loop files, the pool and an ext4 base device, with dockerd\'s command lines', async () => {
    const d = await open();
    const st = await stat(dir, { bigint: true });
    const prefix = d.devices.devicePrefix;
    assert.match(prefix, new RegExp(`^docker-\\d+:\\d+-${st.ino}$`));
    const data = join(dir, 'devicemapper', 'data');
    assert.equal((await stat(data)).size, 1024 ** 3);
    assert.ok((await stat(data)).blocks < 100, 'sparse');
    assert.equal((await stat(join(dir, 'devicemapper', 'metadata'))).size, 64 * 1024 ** 2);
    assert.deepEqual(fake.take(), [
      'dmsetup version',
      `dmsetup info ${prefix}-pool`,
      `losetup --find --show --nooverlap ${data}`,
      `losetup --find --show --nooverlap ${join(dir, 'devicemapper', 'metadata')}`,
      `dmsetup create ${prefix}-pool --table 0 2097152 thin-pool /dev/loop1 /dev/loop0 128 32768 1 skip_block_zeroing`,
      `dmsetup message /dev/mapper/${prefix}-pool 0 create_thin 1`,
      `dmsetup message /dev/mapper/${prefix}-pool 0 set_transaction_id 0 1`,
      `dmsetup create ${prefix}-base --table 0 2097152 thin /dev/mapper/${prefix}-pool 1`,
      `mkfs.ext4 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/mapper/${prefix}-base`,
      `tune2fs -c -1 -i 0 /dev/mapper/${prefix}-base`,
      `dmsetup remove ${prefix}-base`,
    ]);
    const meta = JSON.parse(await readFile(join(dir, 'metadata', 'deviceset-metadata'), 'utf8'));
    assert.deepEqual(meta, { next_device_id: 1, BaseDeviceUUID: '3f1c9a52-0000-4000-8000-000000000001', BaseDeviceFilesystem: 'ext4' });
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'metadata', 'base'), 'utf8')), { device_id: 1, size: 1024 ** 3, transaction_id: 1, initialized: true, deleted: false });
    await d.dispose();
    assert.deepEqual(fake.take(), [`dmsetup remove ${prefix}-pool`, 'losetup --detach /dev/loop0', 'losetup --detach /dev/loop1']);
    assert.equal(fake.devs.size, 0);
    assert.equal(fake.loops.size, 0);
  });

  it('snapshots per layer (create_snap, suspending an active origin), mounts on get, deletes on remove', async () => {
    const d = await open();
    const p = d.devices.devicePrefix;
    const pool = `/dev/mapper/${p}-pool`;
    fake.take();
    await d.create('l1', null);
    assert.deepEqual(fake.take(), [`dmsetup status ${p}-pool`, `dmsetup message ${pool} 0 create_snap 2 1`, `dmsetup message ${pool} 0 set_transaction_id 1 2`],
      'the base device is known inactive: no info, no suspend');
    const path = await d.get('l1');
    assert.equal(path, join(dir, 'mnt', 'l1', 'rootfs'));
    assert.deepEqual(fake.take(), [`dmsetup create ${p}-l1 --table 0 2097152 thin ${pool} 2`, `mount -t ext4 /dev/mapper/${p}-l1 ${join(dir, 'mnt', 'l1')}`]);
    assert.equal(await readFile(join(dir, 'mnt', 'l1', 'id'), 'utf8'), 'l1');
    await d.create('l2', 'l1');
    assert.deepEqual(fake.take(), [
      `dmsetup status ${p}-pool`, `dmsetup suspend ${p}-l1`, `dmsetup message ${pool} 0 create_snap 3 2`,
      `dmsetup message ${pool} 0 set_transaction_id 2 3`, `dmsetup resume ${p}-l1`,
    ]);
    assert.deepEqual(await d.metadata('l2'), { DeviceId: '3', DeviceSize: String(1024 ** 3), DeviceName: `${p}-l2` });
    await assert.rejects(d.remove('l1'), ConflictError, 'in use');
    await d.put('l1');
    assert.deepEqual(fake.take(), [`umount ${join(dir, 'mnt', 'l1')}`, `dmsetup remove ${p}-l1`]);
    await d.remove('l2');
    assert.deepEqual(fake.take(), [
      `dmsetup create ${p}-l2 --table 0 2097152 thin ${pool} 3`, `blkdiscard /dev/mapper/${p}-l2`, `dmsetup remove ${p}-l2`,
      `dmsetup message ${pool} 0 delete 3`, `dmsetup message ${pool} 0 set_transaction_id 3 4`,
    ]);
    assert.equal(await d.exists('l2'), false);
    await assert.rejects(readFile(join(dir, 'metadata', 'l2')), /ENOENT/);
    await d.remove('l2'); // a no-op now
    await assert.rejects(d.create('l1', null), (e: Error) => e instanceof ConflictError && e.message === 'devmapper: device l1 already exists. Deleted=false');
    await assert.rejects(d.create('x', 'nope'), NotFoundError);
    await assert.rejects(d.create('x', null, { storageOpt: { size: '1M' } }), /Container size cannot be smaller than 1.074GB/);
    await assert.rejects(d.create('x', null, { storageOpt: { inodes: '1' } }), /Unknown option inodes/);
    await d.dispose();
  });

  it('grows a snapshot made with a larger --storage-opt size', async () => {
    const d = await open();
    fake.take();
    await d.create('big', null, { storageOpt: { size: '2G' } });
    const calls = fake.take();
    assert.ok(calls.some((c) => c.endsWith(`thin /dev/mapper/${d.devices.devicePrefix}-pool 2`) && c.includes('0 4194304 thin')), calls.join('\n'));
    assert.ok(calls.some((c) => c.startsWith('resize2fs /dev/mapper/')), calls.join('\n'));
    assert.equal((await d.metadata('big')).DeviceSize, String(2 * 1024 ** 3));
    await d.dispose();
  });

  it('marks a busy device deleted with deferred deletion and deletes it later', async () => {
    const d = await open();
    const p = d.devices.devicePrefix;
    await d.create('busy', null);
    await d.get('busy');
    fake.devs.get(`${p}-busy`)!.open++; // a process outside berthd holds the device
    await d.put('busy');
    assert.equal(fake.devs.get(`${p}-busy`)?.deferred, true, 'deactivation was deferred');
    await d.remove('busy');
    assert.equal(await d.exists('busy'), true, 'still there, marked deleted');
    assert.equal(JSON.parse(await readFile(join(dir, 'metadata', 'busy'), 'utf8')).deleted, true);
    assert.ok((await d.status()).some(([k, v]) => k === 'Deferred Deleted Device Count' && v === '1'));
    fake.devs.get(`${p}-busy`)!.open = 0;
    fake.devs.delete(`${p}-busy`); // the last opener closed it: the kernel removed it
    await d.devices.retryDeletedDevices();
    assert.equal(await d.exists('busy'), false);
    assert.ok((await d.status()).some(([k, v]) => k === 'Deferred Deleted Device Count' && v === '0'));
    await d.dispose();
  });

  it('rolls back a creation the daemon died in the middle of (dockerd\'s transaction files)', async () => {
    fake.addPool('tp');
    let d = await open(['dm.thinpooldev=tp', 'dm.basesize=1G']);
    await d.create('kept', null);
    await d.dispose();
    assert.ok(fake.devs.has('tp'), 'a pool given with dm.thinpooldev stays');
    // Died after "create_snap 9" and the metadata write, before set_transaction_id.
    const p = fake.pools.get('tp')!;
    p.thins.add(9);
    await writeFile(join(dir, 'metadata', 'half'), JSON.stringify({ device_id: 9, size: 1024 ** 3, transaction_id: p.transactionId + 1, initialized: false, deleted: false }));
    await writeFile(join(dir, 'metadata', 'transaction-metadata'), JSON.stringify({ open_transaction_id: p.transactionId + 1, device_hash: 'half', device_id: 9 }));
    fake.take();
    d = await open(['dm.thinpooldev=tp', 'dm.basesize=1G']);
    assert.ok(fake.take().includes('dmsetup message /dev/mapper/tp 0 delete 9'));
    assert.equal(p.thins.has(9), false);
    assert.equal(await d.exists('half'), false);
    assert.equal(await d.exists('kept'), true);
    await assert.rejects(readFile(join(dir, 'metadata', 'half')), /ENOENT/);
    assert.ok((await d.status()).some(([k, v]) => k === 'Pool Name' && v === 'tp'));
    await d.create('next', 'kept');
    assert.ok(p.thins.has(Number((await d.metadata('next')).DeviceId)));
    await d.dispose();
  });

  it('refuses a dm.thinpooldev pool that is already in use, as dockerd', async () => {
    fake.addPool('used');
    fake.pools.get('used')!.dataUsed = 5;
    await assert.rejects(open(['dm.thinpooldev=used']), /Unable to take ownership of thin-pool \(used\) that already has used data blocks/);
    await assert.rejects(open(['dm.thinpooldev=missing']), /thin pool missing \(dm.thinpooldev\) does not exist/);
  });

  it('applies the deferred removal/deletion rules and kernel support as dockerd', async () => {
    await assert.rejects(open([...small, 'dm.use_deferred_removal=false']), /Deferred deletion can not be enabled as deferred removal is not enabled/);
    const d = await open([...small, 'dm.use_deferred_removal=false', 'dm.use_deferred_deletion=false']);
    const rows = new Map(await d.status());
    assert.equal(rows.get('Deferred Removal Enabled'), 'false');
    assert.equal(rows.get('Deferred Deletion Enabled'), 'false');
    await d.dispose();
    const fresh = async () => {
      await rm(dir, { recursive: true, force: true });
      dir = await mkdtemp(join(tmpdir(), 'berth-dm-fake-'));
      fake = new FakeDm();
    };
    await fresh();
    fake.driverVersion = '4.26.0';
    const old = await open(); // defaults follow what the kernel can do
    assert.equal(new Map(await old.status()).get('Deferred Removal Enabled'), 'false');
    await old.dispose();
    await fresh();
    fake.driverVersion = '4.26.0';
    await assert.rejects(open([...small, 'dm.use_deferred_removal=true']), /Deferred removal can not be enabled as kernel does not support it/);
  });

  it('finds its devices again after a restart, with the same ids', async () => {
    let d = await open(['dm.thinpooldev=tp2']).catch(() => null);
    assert.equal(d, null);
    fake.addPool('tp2');
    d = await open(['dm.thinpooldev=tp2']);
    await d.create('a', null);
    await d.create('b', 'a');
    const before = await d.metadata('b');
    await d.dispose();
    d = await open(['dm.thinpooldev=tp2']);
    assert.deepEqual(await d.metadata('b'), before);
    await d.create('c', 'b');
    assert.equal((await d.metadata('c')).DeviceId, '4');
    await d.dispose();
  });
});

describe('graph-devmapper plugin activation', () => {
  const ctx = (daemon: Record<string, unknown>, root: string) => ({
    id: 'graph-devmapper', name: 'devicemapper', config: {}, log: silentLogger,
    daemon: { 'storage-opts': [], ...daemon },
    paths: { root, dataRoot: root, execRoot: root, state: root },
  }) as unknown as PluginContext;

  it('is never chosen automatically (deprecated, as in dockerd 20.10)', async () => {
    await assert.rejects(Promise.resolve().then(() => devmapperPlugin.activate(ctx({}, join(tmpdir(), 'berth-dm-none')))),
      (e: unknown) => e instanceof SkipPlugin && /only when selected/.test(e.reason));
  });

  it('fails on an unknown dm.* option with dockerd\'s error', async () => {
    await assert.rejects(Promise.resolve().then(() => devmapperPlugin.activate(ctx({ 'storage-driver': 'devicemapper', 'storage-opts': ['dm.bogus=1'] }, join(tmpdir(), 'berth-dm-none')))),
      (e: unknown) => e instanceof InvalidParameterError && e.message === 'devmapper: Unknown option dm.bogus');
  });

  const noDm = spawnSync('dmsetup', ['targets']).status !== 0;
  it('skips itself with the reason where the kernel has no device-mapper', { skip: noDm ? false : 'this kernel has device-mapper' }, async () => {
    await assert.rejects(Promise.resolve().then(() => devmapperPlugin.activate(ctx({ 'storage-driver': 'devicemapper' }, join(tmpdir(), 'berth-dm-none')))),
      (e: unknown) => e instanceof SkipPlugin && /dmsetup targets: .+|dmsetup not found|needs root/.test(e.reason));
  });
});
