/**
 * The thin pool and its devices (dockerd's devmapper DeviceSet): one base
 * device holding an empty filesystem, and one thin snapshot per layer and
 * container, each a snapshot of its parent's device.
 *
 * Layout under root (`<data-root>/devicemapper`, dockerd's):
 *
 *   devicemapper/data, devicemapper/metadata   sparse loop files of the pool (unless
 *                                              dm.thinpooldev or dm.datadev/dm.metadatadev)
 *   metadata/…                                 device-metadata.ts
 *   mnt/<id>/                                  mount point of a device; its filesystem
 *                                              holds rootfs/ (the layer) and an id file
 *
 * Every creation and deletion is a transaction (dockerd's): the intent is
 * saved in transaction-metadata, the pool is told, the device's file is
 * written, then the pool's transaction id is bumped with set_transaction_id.
 * At start a pool transaction id lower than the saved one means the daemon
 * died in between: the half-made device is deleted from the pool again.
 *
 * All device-mapper work is serialised on one lock, as dockerd does around
 * libdevmapper.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, stat, statfs, mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, type Logger } from '../../kernel/index.js';
import { KeyedLock } from '../graph-common/keyed-lock.js';
import { humanSize } from '../../lib/go-size.js';
import { BlockTools } from './block-tools.js';
import { joinMountOptions, type DmOptions } from './dm-options.js';
import { Dmsetup, SECTOR, poolTable, thinTable, type PoolStatus } from './dmsetup.js';
import { DeviceIdAllocator, MetadataStore, deviceKey, type DevInfo, type Transaction } from './device-metadata.js';
import { ToolError, type ToolRunner } from './tool-runner.js';

export interface DeviceSetStatus {
  poolName: string;
  dataFile: string;
  dataLoopback: string;
  metadataFile: string;
  metadataLoopback: string;
  data: { used: number; total: number; available: number };
  metadata: { used: number; total: number; available: number };
  baseDeviceSize: number;
  baseDeviceFS: string;
  sectorSize: number;
  udevSyncSupported: boolean;
  deferredRemoveEnabled: boolean;
  deferredDeleteEnabled: boolean;
  deferredDeletedDeviceCount: number;
  minFreeSpace: number;
  libraryVersion: string;
}

/** How often devices whose deletion was deferred (busy) are tried again, as dockerd. */
const DELETION_RETRY_MS = 30_000;

export class DeviceSet {
  readonly dm: Dmsetup;
  readonly tools: BlockTools;
  readonly store: MetadataStore;
  devicePrefix = '';
  private readonly devices = new Map<string, DevInfo>();
  private readonly ids = new DeviceIdAllocator();
  private transactionId = 0;
  private open: Transaction = { openTransactionId: 0, deviceHash: '', deviceId: 0 };
  private dataDevice: string;
  private metadataDevice: string;
  private dataLoopFile = '';
  private metadataLoopFile = '';
  private deferredRemove = false;
  private deferredDelete = false;
  private baseDeviceUUID = '';
  private baseDeviceFilesystem = '';
  private filesystem: 'ext4' | 'xfs';
  private nrDeletedDevices = 0;
  private libraryVersion = '';
  private readonly lock = new KeyedLock();
  /** Device-mapper devices known to be active (true) or absent (false) since this set last changed them; others are asked for. */
  private readonly activeState = new Map<string, boolean>();
  private deletionTimer?: NodeJS.Timeout;

  private constructor(readonly root: string, readonly options: DmOptions, private readonly log: Logger, run: ToolRunner) {
    this.dm = new Dmsetup(run);
    this.tools = new BlockTools(run);
    this.store = new MetadataStore(join(root, 'metadata'));
    this.dataDevice = options.dataDevice;
    this.metadataDevice = options.metadataDevice;
    this.filesystem = options.filesystem;
  }

  /** dockerd's NewDeviceSet + initDevmapper: finds or makes the pool and the base device. */
  static async open(root: string, options: DmOptions, log: Logger, run: ToolRunner): Promise<DeviceSet> {
    const set = new DeviceSet(root, options, log, run);
    await set.init();
    return set;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('devices', fn);
  }

  // --- names -------------------------------------------------------------------

  poolName(): string {
    return this.options.thinPoolDevice || `${this.devicePrefix}-pool`;
  }

  poolDevName(): string {
    return `/dev/mapper/${this.poolName()}`;
  }

  nameOf(info: DevInfo): string {
    return `${this.devicePrefix}-${deviceKey(info.hash)}`;
  }

  devNameOf(info: DevInfo): string {
    return `/dev/mapper/${this.nameOf(info)}`;
  }

  private loopbackDir(): string {
    return join(this.root, 'devicemapper');
  }

  // --- start-up ----------------------------------------------------------------

  private async init(): Promise<void> {
    const version = await this.dm.version();
    this.libraryVersion = version.library;
    this.enableDeferredRemovalDeletion(version.driver, version.library);
    if (!udevSyncSupported()) {
      // dockerd refuses when libdm cannot sync with a running udev (nodes raced away). dmsetup
      // syncs whenever udev runs; without udev (DM_DISABLE_UDEV, no udevd) it makes the nodes itself.
      this.log.debug('devmapper: udev is not running or disabled; dmsetup creates /dev/mapper nodes itself');
    }
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.store.dir, { recursive: true, mode: 0o700 });

    const st = await stat(this.root, { bigint: true });
    const dev = st.dev;
    const major = (dev >> 8n) & 0xfffn;
    const minor = (dev & 0xffn) | ((dev >> 12n) & 0xfff00n);
    this.devicePrefix = `docker-${major}:${minor}-${st.ino}`;

    const poolExists = await this.thinPoolExists(this.poolName());
    let createdLoopback = false;
    let createdPool = false;
    const attached: string[] = [];
    try {
      if (!poolExists && !this.options.thinPoolDevice) {
        if (!this.dataDevice) {
          if (!existsSync(join(this.loopbackDir(), 'data'))) createdLoopback = true;
          this.dataLoopFile = await this.ensureImage('data', this.options.dataLoopbackSize);
          this.dataDevice = await this.tools.attachLoop(this.dataLoopFile);
          attached.push(this.dataDevice);
        }
        if (!this.metadataDevice) {
          if (!existsSync(join(this.loopbackDir(), 'metadata'))) createdLoopback = true;
          this.metadataLoopFile = await this.ensureImage('metadata', this.options.metaDataLoopbackSize);
          this.metadataDevice = await this.tools.attachLoop(this.metadataLoopFile);
          attached.push(this.metadataDevice);
        }
        // A loop device is as large as its file; only a real data device needs asking (blockdev).
        const size = this.dataLoopFile ? (await stat(this.dataLoopFile)).size : await this.tools.deviceSize(this.dataDevice);
        await this.dm.create(this.poolName(), poolTable(Math.floor(size / SECTOR), this.metadataDevice, this.dataDevice, this.options.thinpBlockSize));
        createdPool = true;
      } else if (!poolExists) {
        throw new Error(`devmapper: thin pool ${this.poolName()} (dm.thinpooldev) does not exist`);
      }
      // A pool left active by an earlier run (busy at shutdown, or a crash): find its loop files.
      if (poolExists && !this.options.thinPoolDevice) await this.loadThinPoolLoopBackInfo();
      if (!createdLoopback) await this.initMetaData();
      if (!this.options.thinPoolDevice && (this.dataLoopFile || this.metadataLoopFile)) {
        this.log.warn('devmapper: Usage of loopback devices is strongly discouraged for production use. Please use `--storage-opt dm.thinpooldev` or use `man docker` to refer to dm.thinpooldev section.');
      }
      await this.loadDeviceSetMetaData();
      await this.setupBaseImage();
    } catch (err) {
      if (createdPool) await this.dm.remove(this.poolName()).catch(() => undefined);
      if (createdPool || !poolExists) for (const dev of attached) await this.tools.detachLoop(dev).catch(() => undefined);
      throw err;
    }
    if (this.deferredDelete) {
      this.deletionTimer = setInterval(() => { void this.cleanupDeletedDevices(); }, DELETION_RETRY_MS);
      this.deletionTimer.unref();
    }
  }

  /** Deferred removal needs kernel dm 4.27+ and a libdm that knows it (1.02.89+); both default to on when present, as dockerd. */
  private enableDeferredRemovalDeletion(driverVersion: string, libraryVersion: string): void {
    const [dMaj = 0, dMin = 0] = driverVersion.split('.').map(Number);
    const driverOk = dMaj > 4 || (dMaj === 4 && dMin >= 27);
    const lib = /^(\d+)\.(\d+)\.(\d+)/.exec(libraryVersion);
    const libOk = !!lib && (Number(lib[1]) > 1 || (Number(lib[1]) === 1 && (Number(lib[2]) > 2 || (Number(lib[2]) === 2 && Number(lib[3]) >= 89))));
    const removal = this.options.deferredRemoval ?? (driverOk && libOk);
    const deletion = this.options.deferredDeletion ?? (driverOk && libOk);
    if (removal) {
      if (!driverOk) throw new InvalidParameterError('devmapper: Deferred removal can not be enabled as kernel does not support it');
      if (!libOk) throw new InvalidParameterError('devmapper: Deferred removal can not be enabled as libdm does not support it');
      this.deferredRemove = true;
    }
    if (deletion) {
      if (!this.deferredRemove) {
        throw new InvalidParameterError('devmapper: Deferred deletion can not be enabled as deferred removal is not enabled. Enable deferred removal using --storage-opt dm.use_deferred_removal=true parameter');
      }
      this.deferredDelete = true;
    }
  }

  private async thinPoolExists(name: string): Promise<boolean> {
    const info = await this.dm.info(name);
    if (!info) return false;
    const s = await this.dm.status(name);
    if (s.target !== 'thin-pool') throw new Error(`devmapper: Device ${name} is not a thin pool`);
    return true;
  }

  /** A sparse file of size bytes at <root>/devicemapper/<name>; grown when smaller, never shrunk. */
  private async ensureImage(name: string, size: number): Promise<string> {
    await mkdir(this.loopbackDir(), { recursive: true, mode: 0o700 });
    const file = join(this.loopbackDir(), name);
    const fh = await open(file, 'a+', 0o600);
    try {
      const { size: current } = await fh.stat();
      if (current < size) await fh.truncate(size);
      else if (current > size) this.log.warn(`devmapper: Can't shrink loopback file ${file}`);
    } finally {
      await fh.close();
    }
    return file;
  }

  /** Which of our loop files back the existing pool (its table names "<meta maj:min> <data maj:min>"). */
  private async loadThinPoolLoopBackInfo(): Promise<void> {
    const [metaMajMin = '', dataMajMin = ''] = (await this.dm.table(this.poolName())).params.split(/\s+/);
    const match = async (file: string, want: string): Promise<string> => {
      for (const dev of await this.tools.loopsOf(file)) {
        const { rdev } = await stat(dev, { bigint: true });
        const majMin = `${(rdev >> 8n) & 0xfffn}:${(rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n)}`;
        if (majMin === want) return dev;
      }
      return '';
    };
    if (!this.dataDevice) {
      const file = join(this.loopbackDir(), 'data');
      const dev = await match(file, dataMajMin);
      if (!dev) throw new Error(`devmapper: Unable to find loopback mount for: ${file}`);
      this.dataDevice = dev;
      this.dataLoopFile = file;
    }
    if (!this.metadataDevice) {
      const file = join(this.loopbackDir(), 'metadata');
      const dev = await match(file, metaMajMin);
      if (!dev) throw new Error(`devmapper: Unable to find loopback mount for: ${file}`);
      this.metadataDevice = dev;
      this.metadataLoopFile = file;
    }
  }

  private async initMetaData(): Promise<void> {
    this.transactionId = (await this.poolStatus()).transactionId;
    const loaded = await this.store.loadAll((file, err) => this.log.warn('devmapper: unreadable device metadata ignored', { file, error: err }));
    for (const [hash, info] of loaded) {
      this.devices.set(hash, info);
      this.ids.markUsed(info.deviceId);
      if (info.deleted) this.nrDeletedDevices++;
    }
    await this.processPendingTransaction();
  }

  private async processPendingTransaction(): Promise<void> {
    const t = await this.store.loadTransaction();
    this.open = t ?? { openTransactionId: this.transactionId, deviceHash: '', deviceId: 0 };
    if (this.open.openTransactionId === this.transactionId) return;
    if (this.open.openTransactionId < this.transactionId) {
      this.log.error(`devmapper: Open Transaction id ${this.open.openTransactionId} is less than pool transaction id ${this.transactionId}`);
      return;
    }
    // Interrupted between the pool message and the commit: undo the half-made device.
    this.log.warn('devmapper: Rolling back open transaction', { transactionId: this.open.openTransactionId, hash: this.open.deviceHash, deviceId: this.open.deviceId });
    await this.dm.deleteThin(this.poolDevName(), this.open.deviceId).catch((err: unknown) => this.log.error('devmapper: Unable to delete device', { error: err }));
    await this.store.remove(this.open.deviceHash);
    this.devices.delete(this.open.deviceHash);
    this.ids.markFree(this.open.deviceId);
    await this.store.removeTransaction();
    this.open = { openTransactionId: this.transactionId, deviceHash: '', deviceId: 0 };
  }

  private async loadDeviceSetMetaData(): Promise<void> {
    const m = await this.store.loadDeviceSet();
    if (m.nextDeviceId !== undefined) this.ids.next = m.nextDeviceId;
    this.baseDeviceUUID = m.baseDeviceUUID ?? '';
    this.baseDeviceFilesystem = m.baseDeviceFilesystem ?? '';
  }

  private saveDeviceSetMetaData(): Promise<void> {
    return this.store.saveDeviceSet({ nextDeviceId: this.ids.next, baseDeviceUUID: this.baseDeviceUUID, baseDeviceFilesystem: this.baseDeviceFilesystem });
  }

  private async setupBaseImage(): Promise<void> {
    const old = this.devices.get('');
    if (old) {
      if (old.initialized && !old.deleted) {
        await this.verifyBaseImage(old);
        await this.growBaseDeviceIfAsked(old);
        return;
      }
      this.log.debug('devmapper: Removing uninitialized base image');
      await this.deleteDevice(old, true);
    }
    if (this.options.thinPoolDevice && !old) {
      const s = await this.poolStatus();
      if (s.dataUsed !== 0) throw new Error(`devmapper: Unable to take ownership of thin-pool (${this.options.thinPoolDevice}) that already has used data blocks`);
      if (s.transactionId !== 0) throw new Error(`devmapper: Unable to take ownership of thin-pool (${this.options.thinPoolDevice}) with non-zero transaction ID`);
    }
    const info = await this.createRegisterDevice('');
    await this.activateDeviceIfNeeded(info, false);
    this.baseDeviceFilesystem = this.filesystem;
    await this.saveDeviceSetMetaData();
    this.log.info(`devmapper: Creating filesystem ${this.filesystem} on device ${this.nameOf(info)}`);
    const uuid = await this.tools.mkfs(this.filesystem, this.devNameOf(info), this.options.mkfsArgs);
    info.initialized = true;
    await this.store.save(info);
    this.baseDeviceUUID = uuid || (await this.tools.blkid(this.devNameOf(info), 'UUID'));
    await this.deactivateDevice(info);
    await this.saveDeviceSetMetaData();
  }

  /** The base device found must be the one this metadata describes (same pool), and sets the filesystem. */
  private async verifyBaseImage(base: DevInfo): Promise<void> {
    await this.activateDeviceIfNeeded(base, false);
    try {
      const uuid = await this.tools.blkid(this.devNameOf(base), 'UUID');
      if (!this.baseDeviceUUID) {
        this.baseDeviceUUID = uuid;
      } else if (uuid !== this.baseDeviceUUID) {
        throw new Error(`devmapper: Base Device UUID and Filesystem verification failed: devmapper: Current Base Device UUID:${uuid} does not match with stored UUID:${this.baseDeviceUUID}. Possibly using a different thin pool than last invocation`);
      }
      if (!this.baseDeviceFilesystem) this.baseDeviceFilesystem = await this.tools.blkid(this.devNameOf(base), 'TYPE');
      await this.saveDeviceSetMetaData();
    } finally {
      await this.deactivateDevice(base);
    }
    if (this.baseDeviceFilesystem !== this.filesystem) {
      this.log.warn(`devmapper: Base device already exists and has filesystem ${this.baseDeviceFilesystem} on it. User specified filesystem ${this.filesystem} will be ignored.`);
      this.filesystem = this.baseDeviceFilesystem as 'ext4' | 'xfs';
    }
  }

  private async growBaseDeviceIfAsked(base: DevInfo): Promise<void> {
    if (!this.options.userBaseSize) return;
    if (this.options.baseFsSize < base.size) throw new InvalidParameterError(`devmapper: Base device size cannot be smaller than ${humanSize(base.size)}`);
    if (this.options.baseFsSize === base.size) return;
    base.size = this.options.baseFsSize;
    await this.store.save(base);
    await this.growFS(base);
  }

  /** Mounts the device on a scratch dir and grows its filesystem to the device's (new) size. */
  private async growFS(info: DevInfo): Promise<void> {
    await this.activateDeviceIfNeeded(info, false);
    const dir = await mkdtemp(join(this.root, 'grow-'));
    try {
      const fs = this.baseDeviceFilesystem || this.filesystem;
      await this.tools.mount(this.devNameOf(info), dir, fs, joinMountOptions(fs === 'xfs' ? 'nouuid' : '', this.options.mountOptions));
      try {
        await this.tools.growFs(fs, this.devNameOf(info), dir);
      } finally {
        await this.tools.unmount(dir);
      }
    } finally {
      await rmdir(dir).catch(() => undefined);
      await this.deactivateDevice(info);
    }
  }

  // --- transactions --------------------------------------------------------------

  private async openTransaction(hash: string, deviceId: number): Promise<void> {
    this.open = { openTransactionId: this.transactionId + 1, deviceHash: hash, deviceId };
    try {
      await this.store.saveTransaction(this.open);
    } catch (err) {
      throw new Error(`devmapper: Error saving transaction metadata: ${(err as Error).message}`);
    }
  }

  private async closeTransaction(): Promise<void> {
    try {
      await this.dm.setTransactionId(this.poolDevName(), this.transactionId, this.open.openTransactionId);
    } catch (err) {
      throw new Error(`devmapper: Error setting devmapper transaction ID: ${(err as Error).message}`);
    }
    this.transactionId = this.open.openTransactionId;
  }

  // --- devices -------------------------------------------------------------------

  private async createRegisterDevice(hash: string): Promise<DevInfo> {
    return this.createRegistered(hash, this.options.baseFsSize, (id) => this.dm.createThin(this.poolDevName(), id));
  }

  /** Allocates an id, runs create (create_thin or create_snap) in a transaction and saves the device's file. */
  private async createRegistered(hash: string, size: number, create: (id: number) => Promise<void>): Promise<DevInfo> {
    let deviceId = this.ids.allocate();
    try {
      await this.openTransaction(hash, deviceId);
    } catch (err) {
      this.ids.markFree(deviceId);
      throw err;
    }
    for (;;) {
      try {
        await create(deviceId);
        break;
      } catch (err) {
        if (err instanceof ToolError && err.errno === 'EEXIST') {
          // The pool already has this id although no metadata says so: skip it, as dockerd does.
          this.log.error(`devmapper: Device ID ${deviceId} exists in pool but it is supposed to be unused`);
          deviceId = this.ids.allocate();
          await this.openTransaction(hash, deviceId);
          continue;
        }
        this.ids.markFree(deviceId);
        throw err;
      }
    }
    const info: DevInfo = { hash, deviceId, size, transactionId: this.open.openTransactionId, initialized: false, deleted: false };
    this.devices.set(hash, info);
    // A new thin device has no device-mapper device yet, unless a stale one of that name survived a crash.
    if (!this.activeState.has(this.nameOf(info))) this.activeState.set(this.nameOf(info), false);
    try {
      await this.store.save(info);
      await this.closeTransaction();
    } catch (err) {
      this.devices.delete(hash);
      await this.store.remove(hash).catch(() => undefined);
      await this.dm.deleteThin(this.poolDevName(), deviceId).catch(() => undefined);
      this.ids.markFree(deviceId);
      throw err;
    }
    return info;
  }

  /** dockerd's AddDevice: hash becomes a snapshot of baseHash ("" = the base device), optionally larger. */
  addDevice(hash: string, baseHash: string, size: number): Promise<void> {
    return this.serial(async () => {
      const base = this.devices.get(baseHash);
      if (!base) throw new NotFoundError(`devmapper: Unknown device ${baseHash}`);
      if (base.deleted) throw new ConflictError(`devmapper: Base device ${base.hash} has been marked for deferred deletion`);
      const existing = this.devices.get(hash);
      if (existing) throw new ConflictError(`devmapper: device ${hash} already exists. Deleted=${existing.deleted}`);
      if (size === 0) size = base.size;
      if (size < base.size) throw new InvalidParameterError(`devmapper: Container size cannot be smaller than ${humanSize(base.size)}`);
      await this.takeSnapshot(hash, base, size);
      if (size > base.size) await this.growFS(this.devices.get(hash)!);
    });
  }

  private async takeSnapshot(hash: string, base: DevInfo, size: number): Promise<void> {
    await this.poolHasFreeSpace();
    // Whether the origin is active (then it must be suspended): known when this set activated or removed it last.
    const known = this.activeState.get(this.nameOf(base));
    const info = known === undefined ? await this.dm.info(this.nameOf(base)) : { exists: known, deferredRemove: false };
    let deactivateAfter = false;
    if (info?.deferredRemove) {
      // The origin is on its way out; bring it back for the snapshot and let it go again after.
      await this.cancelDeferredRemoval(base).then(() => { deactivateAfter = true; }, (err: unknown) => { if (!(err instanceof ToolError && err.errno === 'ENXIO')) throw err; });
    }
    const suspend = info?.exists === true && (!info.deferredRemove || deactivateAfter);
    // An active origin must be suspended while the pool copies its mapping (thin-provisioning.rst).
    if (suspend) await this.dm.suspend(this.nameOf(base));
    try {
      await this.createRegistered(hash, size, (id) => this.dm.createSnap(this.poolDevName(), id, base.deviceId));
    } finally {
      if (suspend) await this.dm.resume(this.nameOf(base));
      if (deactivateAfter) await this.deactivateDevice(base).catch(() => undefined);
    }
  }

  private async poolHasFreeSpace(): Promise<void> {
    const pct = this.options.minFreeSpacePercent;
    if (pct === 0) return;
    const s = await this.poolStatus();
    const minFreeData = Math.max(1, Math.floor((s.dataTotal * pct) / 100));
    if (s.dataTotal - s.dataUsed < minFreeData) {
      throw new Error(`devmapper: Thin Pool has ${s.dataTotal - s.dataUsed} free data blocks which is less than minimum required ${minFreeData} free data blocks. Create more free space in thin pool or use dm.min_free_space option to change behavior`);
    }
    const minFreeMeta = Math.max(1, Math.floor((s.metadataTotal * pct) / 100));
    if (s.metadataTotal - s.metadataUsed < minFreeMeta) {
      throw new Error(`devmapper: Thin Pool has ${s.metadataTotal - s.metadataUsed} free metadata blocks which is less than minimum required ${minFreeMeta} free metadata blocks. Create more free metadata space in thin pool or use dm.min_free_space option to change behavior`);
    }
  }

  private poolStatus(): Promise<PoolStatus> {
    return this.dm.poolStatus(this.poolName());
  }

  /** Activates the thin device unless it is active; a scheduled deferred removal is cancelled instead. */
  private async activateDeviceIfNeeded(info: DevInfo, ignoreDeleted: boolean): Promise<void> {
    if (info.deleted && !ignoreDeleted) throw new ConflictError(`devmapper: Can't activate device ${info.hash} as it is marked for deletion`);
    const name = this.nameOf(info);
    const known = this.activeState.get(name);
    if (known === true) return;
    if (known === false) {
      try {
        await this.dm.create(name, thinTable(info.size, this.poolDevName(), info.deviceId));
        this.activeState.set(name, true);
        return;
      } catch (err) {
        if (!(err instanceof ToolError && (err.errno === 'EBUSY' || err.errno === 'EEXIST'))) throw err;
        this.activeState.delete(name); // someone else made it: ask the kernel below
      }
    }
    const state = await this.dm.info(name);
    if (state?.deferredRemove) {
      try {
        await this.cancelDeferredRemoval(info);
      } catch (err) {
        if (!(err instanceof ToolError && err.errno === 'ENXIO')) throw new Error(`devmapper: Device Deferred Removal Cancellation Failed: ${(err as Error).message}`);
      }
      if (await this.dm.info(name)) {
        this.activeState.set(name, true);
        return;
      }
    } else if (state?.exists) {
      this.activeState.set(name, true);
      return;
    }
    await this.dm.create(name, thinTable(info.size, this.poolDevName(), info.deviceId));
    this.activeState.set(name, true);
  }

  private async cancelDeferredRemoval(info: DevInfo): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.dm.cancelDeferredRemove(this.nameOf(info));
        return;
      } catch (err) {
        if (!(err instanceof ToolError && err.errno === 'EBUSY') || i >= 100) throw err;
        await sleep(100);
      }
    }
  }

  private deactivateDevice(info: DevInfo): Promise<void> {
    return this.deactivateDeviceMode(info, this.deferredRemove);
  }

  /**
   * Removes the device-mapper device (not the thin device in the pool); gone
   * already is fine. A plain remove is tried first even with deferred removal
   * on: the outcome is the same for an idle device, and then its state is
   * known, which saves asking the kernel (one process each) later.
   */
  private async deactivateDeviceMode(info: DevInfo, deferred: boolean): Promise<void> {
    const name = this.nameOf(info);
    if (this.activeState.get(name) === false) return;
    for (let i = 0; ; i++) {
      try {
        await this.dm.remove(name, false);
        this.activeState.set(name, false);
        return;
      } catch (err) {
        const errno = err instanceof ToolError ? err.errno : undefined;
        if (errno === 'ENXIO' || errno === 'ENOENT') {
          this.activeState.set(name, false);
          return;
        }
        if (errno === 'EBUSY' && deferred) {
          // Still open (a lazily unmounted fs, a process holding it): the kernel removes it at the last close.
          this.activeState.delete(name);
          await this.dm.remove(name, true);
          return;
        }
        // A device just unmounted can stay busy for a moment; dockerd retries for up to 20 s.
        if (errno !== 'EBUSY' || i >= 200) throw err;
        await sleep(100);
      }
    }
  }

  /** dockerd's DeleteDevice; with syncDelete a busy device is an error rather than marked for later. */
  deleteDeviceByHash(hash: string, syncDelete: boolean): Promise<void> {
    return this.serial(async () => {
      const info = this.devices.get(hash);
      if (!info) throw new NotFoundError(`devmapper: Unknown device ${hash}`);
      await this.deleteDevice(info, syncDelete);
    });
  }

  private async deleteDevice(info: DevInfo, syncDelete: boolean): Promise<void> {
    if (this.options.blkDiscard) await this.issueDiscard(info).catch((err: unknown) => this.log.debug('devmapper: Error discarding block on device (ignoring)', { error: err }));
    // Deferred removal is used here only with deferred deletion; otherwise wait for the device to go.
    await this.deactivateDeviceMode(info, this.deferredRemove && this.deferredDelete);
    await this.openTransaction(info.hash, info.deviceId);
    let busy = false;
    try {
      await this.dm.deleteThin(this.poolDevName(), info.deviceId);
    } catch (err) {
      const isBusy = err instanceof ToolError && err.errno === 'EBUSY';
      if (syncDelete || !this.deferredDelete || !isBusy) {
        await this.closeTransaction().catch(() => undefined);
        throw err;
      }
      busy = true;
    }
    try {
      if (!busy) {
        this.devices.delete(info.hash);
        await this.store.remove(info.hash);
        if (info.deleted) this.nrDeletedDevices--;
        this.ids.markFree(info.deviceId);
      } else if (!info.deleted) {
        info.deleted = true;
        await this.store.save(info);
        this.nrDeletedDevices++;
      }
    } finally {
      await this.closeTransaction();
    }
  }

  /** Hands the device's blocks back (the kernel does not discard on delete; dockerd works around it so). */
  private async issueDiscard(info: DevInfo): Promise<void> {
    const freshlyActivated = this.activeState.get(this.nameOf(info)) === false;
    await this.activateDeviceIfNeeded(info, true);
    if (!freshlyActivated) {
      // Never discard under a user: an open device is left alone (dockerd checks the open count too).
      const state = await this.dm.info(this.nameOf(info));
      if (state && state.openCount !== 0) return;
    }
    await this.tools.discard(this.devNameOf(info));
  }

  /** Tries again to delete the devices whose deletion was deferred (dockerd's worker does it every 30 s). */
  async retryDeletedDevices(): Promise<void> {
    await this.cleanupDeletedDevices();
  }

  private async cleanupDeletedDevices(): Promise<void> {
    const deleted = [...this.devices.values()].filter((d) => d.deleted);
    for (const info of deleted) {
      await this.serial(() => this.deleteDevice(info, false)).catch((err: unknown) => {
        this.log.warn(`devmapper: Deletion of device ${info.hash}, device_id=${info.deviceId} failed`, { error: err });
      });
    }
  }

  hasDevice(hash: string): boolean {
    return this.devices.has(hash);
  }

  lookup(hash: string): DevInfo | undefined {
    return this.devices.get(hash);
  }

  /** Activates the device and mounts its filesystem on path. */
  mountDevice(hash: string, path: string, mountLabel?: string): Promise<void> {
    return this.serial(async () => {
      const info = this.devices.get(hash);
      if (!info) throw new NotFoundError(`devmapper: Unknown device ${hash}`);
      if (info.deleted) throw new ConflictError(`devmapper: Can't mount device ${info.hash} as it has been marked for deferred deletion`);
      try {
        await this.activateDeviceIfNeeded(info, false);
      } catch (err) {
        throw new Error(`devmapper: Error activating devmapper device for '${hash}': ${(err as Error).message}`);
      }
      // The base filesystem type is known; probing each device (dockerd's ProbeFsType) would cost a process per mount.
      const fstype = this.baseDeviceFilesystem || (await this.tools.blkid(this.devNameOf(info), 'TYPE'));
      let options = fstype === 'xfs' ? 'nouuid' : ''; // every snapshot carries the base device's xfs UUID
      options = joinMountOptions(options, this.options.mountOptions);
      if (mountLabel) options = joinMountOptions(options, `context="${mountLabel}"`);
      try {
        await this.tools.mount(this.devNameOf(info), path, fstype, options);
      } catch (err) {
        await this.deactivateDevice(info).catch(() => undefined);
        throw err;
      }
      if (fstype === 'xfs' && this.options.xfsNospaceRetries !== '') await this.xfsSetNospaceRetries(info, path);
    });
  }

  private async xfsSetNospaceRetries(info: DevInfo, path: string): Promise<void> {
    const state = await this.dm.info(this.nameOf(info));
    const file = `/sys/fs/xfs/dm-${state?.minor ?? 0}/error/metadata/ENOSPC/max_retries`;
    try {
      const fh = await open(file, 'w');
      try { await fh.writeFile(this.options.xfsNospaceRetries); } finally { await fh.close(); }
    } catch (err) {
      await this.tools.unmount(path).catch(() => undefined);
      await this.deactivateDevice(info).catch(() => undefined);
      throw new Error(`devmapper: user specified daemon option dm.xfs_nospace_max_retries but it does not seem to be supported on this system :${(err as Error).message}`);
    }
  }

  /** Unmounts path and deactivates the device (deferred when enabled: a lazily unmounted fs may still hold it). */
  unmountDevice(hash: string, path: string): Promise<void> {
    return this.serial(async () => {
      const info = this.devices.get(hash);
      if (!info) throw new NotFoundError(`devmapper: Unknown device ${hash}`);
      await this.tools.unmount(path);
      await this.deactivateDevice(info);
      // As dockerd 20.10: the empty mount point goes too (it may stay if the mount leaked elsewhere).
      await rmdir(path).catch(() => undefined);
    });
  }

  async status(): Promise<DeviceSetStatus> {
    return this.serial(async () => {
      const s: DeviceSetStatus = {
        poolName: this.poolName(),
        dataFile: this.dataDevice,
        dataLoopback: this.dataLoopFile,
        metadataFile: this.metadataDevice,
        metadataLoopback: this.metadataLoopFile,
        data: { used: 0, total: 0, available: 0 },
        metadata: { used: 0, total: 0, available: 0 },
        baseDeviceSize: this.devices.get('')?.size ?? 0,
        baseDeviceFS: this.baseDeviceFilesystem,
        sectorSize: 0,
        udevSyncSupported: udevSyncSupported(),
        deferredRemoveEnabled: this.deferredRemove,
        deferredDeleteEnabled: this.deferredDelete,
        deferredDeletedDeviceCount: this.nrDeletedDevices,
        minFreeSpace: 0,
        libraryVersion: this.libraryVersion,
      };
      let p: PoolStatus;
      try {
        p = await this.poolStatus();
      } catch {
        return s;
      }
      const blockSectors = p.dataTotal > 0 ? Math.floor(p.totalSectors / p.dataTotal) : 0;
      s.data = { used: p.dataUsed * blockSectors * SECTOR, total: p.dataTotal * blockSectors * SECTOR, available: 0 };
      s.data.available = s.data.total - s.data.used;
      s.metadata = { used: p.metadataUsed * 4096, total: p.metadataTotal * 4096, available: 0 }; // metadata blocks are 4k
      s.metadata.available = s.metadata.total - s.metadata.used;
      s.sectorSize = blockSectors * SECTOR;
      // A sparse file cannot hold more than its filesystem has free.
      const underlying = async (file: string) => {
        if (!file) return Infinity;
        try {
          const fs = await statfs(file);
          return fs.bfree * fs.bsize;
        } catch {
          return Infinity;
        }
      };
      s.data.available = Math.min(s.data.available, await underlying(this.dataLoopFile));
      s.metadata.available = Math.min(s.metadata.available, await underlying(this.metadataLoopFile));
      s.minFreeSpace = Math.floor((p.dataTotal * this.options.minFreeSpacePercent) / 100) * blockSectors * SECTOR;
      return s;
    });
  }

  /**
   * dockerd's Shutdown: saves the device set, unmounts what is mounted under
   * mntDir (lazily: a container may still use it) and deactivates devices,
   * the base device and a pool of our own, then detaches our loop devices.
   * Failures are logged, never thrown: a device still in use stays active.
   */
  async shutdown(mntDir: string, isMounted: (path: string) => Promise<boolean>): Promise<void> {
    if (this.deletionTimer) clearInterval(this.deletionTimer);
    await this.serial(async () => {
      await this.saveDeviceSetMetaData().catch((err: unknown) => this.log.warn('devmapper: saving device set metadata failed', { error: err }));
      let entries: string[] = [];
      try {
        entries = await readdir(mntDir);
      } catch { /* no mounts yet */ }
      for (const key of entries) {
        const mp = join(mntDir, key);
        if (await isMounted(mp)) await this.tools.unmount(mp).catch((err: unknown) => this.log.debug('devmapper: Shutdown unmounting', { path: mp, error: err }));
        const info = [...this.devices.values()].find((d) => deviceKey(d.hash) === key);
        if (info) await this.deactivateDevice(info).catch((err: unknown) => this.log.debug('devmapper: Shutdown deactivate', { device: info.hash, error: err }));
      }
      // Devices left active without a mount (the base device, an operation that failed half-way) hold the pool too.
      for (const info of this.devices.values()) {
        if (this.activeState.get(this.nameOf(info)) === true || info.hash === '') {
          await this.deactivateDevice(info).catch((err: unknown) => this.log.debug('devmapper: Shutdown deactivate', { device: info.hash, error: err }));
        }
      }
      if (this.options.thinPoolDevice) return;
      try {
        await this.dm.remove(this.poolName());
      } catch (err) {
        const errno = err instanceof ToolError ? err.errno : undefined;
        if (errno !== 'ENXIO' && errno !== 'ENOENT') {
          this.log.warn('devmapper: the pool stays active (devices still in use)', { pool: this.poolName(), error: err });
          return;
        }
      }
      // dockerd's loop devices clear themselves (LO_FLAGS_AUTOCLEAR); losetup cannot set that flag, so detach here.
      for (const [file, dev] of [[this.dataLoopFile, this.dataDevice], [this.metadataLoopFile, this.metadataDevice]] as const) {
        if (file && dev) await this.tools.detachLoop(dev).catch((err: unknown) => this.log.warn('devmapper: detaching loop device failed', { device: dev, error: err }));
      }
    });
  }
}

/**
 * Whether dmsetup waits for udev to make /dev/mapper nodes (libdm's udev
 * sync): only when udev runs and DM_DISABLE_UDEV is not set.
 */
export function udevSyncSupported(): boolean {
  return !process.env.DM_DISABLE_UDEV && existsSync('/run/udev/control');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
