/**
 * devicemapper: every layer and container is a thin snapshot of its parent's
 * device in one thin pool (device-set.ts), holding a whole filesystem; the
 * layer's files are its `rootfs/` dir. As dockerd, it is a naive-diff
 * driver: diffs compare the mounted trees of a layer and its parent.
 *
 * `get` activates and mounts the device on `<root>/mnt/<id>` (first get) and
 * returns `<root>/mnt/<id>/rootfs`; the last `put` unmounts and deactivates
 * it. A mount found at a get (left by an earlier run, e.g. a container kept
 * by live-restore) is adopted rather than mounted twice.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ConflictError, InvalidParameterError, NotFoundError, UnavailableError,
  silentLogger, type Change, type CreateLayerOptions, type GraphDriver, type Logger,
} from '../../kernel/index.js';
import { changesDirs, changesSize } from '../graph-common/changes.js';
import { KeyedLock } from '../graph-common/keyed-lock.js';
import { applyThroughMount, withMountedTrees } from '../graph-common/mounted-trees.js';
import { naiveDiff } from '../graph-common/naive-diff.js';
import { lstatOrNull } from '../graph-common/tree-walk.js';
import { ramInBytes } from '../../lib/go-size.js';
import { deviceKey } from './device-metadata.js';
import { DeviceSet } from './device-set.js';
import { parseDmOptions } from './dm-options.js';
import { statusRows } from './status-rows.js';
import { spawnRunner, type ToolRunner } from './tool-runner.js';

export interface DevmapperOpenOptions {
  storageOpts?: readonly string[];
  log?: Logger;
  /** The helper-tool runner (tests pass a recording fake). */
  run?: ToolRunner;
}

export class DevmapperDriver implements GraphDriver {
  readonly name = 'devicemapper';
  private readonly refs = new Map<string, number>();
  private readonly locks = new KeyedLock();
  private disposed = false;

  private constructor(readonly root: string, readonly devices: DeviceSet, private readonly log: Logger) {}

  static async open(root: string, opts: DevmapperOpenOptions = {}): Promise<DevmapperDriver> {
    const options = parseDmOptions(opts.storageOpts ?? []);
    const log = opts.log ?? silentLogger;
    const devices = await DeviceSet.open(root, options, log, opts.run ?? spawnRunner);
    return new DevmapperDriver(root, devices, log);
  }

  async status(): Promise<Array<[string, string]>> {
    return statusRows(await this.devices.status());
  }

  async metadata(id: string): Promise<Record<string, string>> {
    const info = this.devices.lookup(id);
    if (!info || id === '') throw new NotFoundError(`devmapper: Unknown device ${id}`);
    return { DeviceId: String(info.deviceId), DeviceSize: String(info.size), DeviceName: this.devices.nameOf(info) };
  }

  /** Read-only and read-write layers are the same thing here: a snapshot, optionally larger (`--storage-opt size`). */
  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    this.checkOpen();
    checkId(id);
    const size = parseSizeOpt(opts?.storageOpt ?? {});
    if (parent !== null && !this.devices.hasDevice(parent)) throw new NotFoundError(`parent layer ${parent} does not exist`);
    await this.devices.addDevice(id, parent ?? '', size);
  }

  createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.create(id, parent, opts);
  }

  async remove(id: string): Promise<void> {
    this.checkOpen();
    if (!validId(id)) return;
    await this.locks.run(id, async () => {
      if ((this.refs.get(id) ?? 0) > 0) throw new ConflictError(`layer ${id} is in use`);
      if (!this.devices.hasDevice(id)) return; // as dockerd: removing a missing device is a no-op
      const mp = this.mountPoint(id);
      // Mounted with no reference: left by an earlier run. It must go before the device can.
      if (await isMountPoint(mp)) await this.devices.unmountDevice(id, mp);
      try {
        await this.devices.deleteDeviceByHash(id, false);
      } catch (err) {
        throw new Error(`failed to remove device ${id}: ${(err as Error).message}`);
      }
      await rm(mp, { recursive: true, force: true });
    });
  }

  async exists(id: string): Promise<boolean> {
    return validId(id) && this.devices.hasDevice(id);
  }

  async get(id: string, mountLabel?: string): Promise<string> {
    this.checkOpen();
    return this.locks.run(id, async () => {
      if (!validId(id) || !this.devices.hasDevice(id)) throw new NotFoundError(`layer ${id} does not exist`);
      const mp = this.mountPoint(id);
      const rootfs = join(mp, 'rootfs');
      const count = this.refs.get(id) ?? 0;
      if (count > 0) {
        this.refs.set(id, count + 1);
        return rootfs;
      }
      await mkdir(mp, { recursive: true, mode: 0o755 });
      const adopted = await isMountPoint(mp);
      if (!adopted) await this.devices.mountDevice(id, mp, mountLabel);
      try {
        await mkdir(rootfs, { recursive: true, mode: 0o755 });
        // As dockerd: an id file beside rootfs/ says whose filesystem this is, should the metadata be lost.
        const idFile = join(mp, 'id');
        if (!(await lstatOrNull(idFile))) await writeFile(idFile, id, { mode: 0o600 });
      } catch (err) {
        await this.devices.unmountDevice(id, mp).catch(() => undefined);
        throw err;
      }
      this.refs.set(id, 1);
      return rootfs;
    });
  }

  async put(id: string): Promise<void> {
    await this.locks.run(id, async () => {
      const count = this.refs.get(id) ?? 0;
      if (count > 1) {
        this.refs.set(id, count - 1);
        return;
      }
      this.refs.delete(id);
      if (!this.devices.hasDevice(id)) return;
      const mp = this.mountPoint(id);
      if (count === 0 && !(await isMountPoint(mp))) return;
      await this.devices.unmountDevice(id, mp);
    });
  }

  async diff(id: string, parent: string | null): Promise<Readable> {
    return this.withTrees(id, parent, true, (newDir, oldDir) => naiveDiff(newDir, oldDir, this.log));
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    return this.withTrees(id, parent, false, async (newDir, oldDir) => (await changesDirs(newDir, oldDir)).changes);
  }

  async applyDiff(id: string, _parent: string | null, diff: Readable): Promise<number> {
    return applyThroughMount(this, this.log, id, diff);
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    return this.withTrees(id, parent, false, async (newDir, oldDir) => changesSize(newDir, (await changesDirs(newDir, oldDir)).changes));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.refs.clear();
    await this.devices.shutdown(join(this.root, 'mnt'), isMountPoint);
  }

  private mountPoint(id: string): string {
    return join(this.root, 'mnt', deviceKey(id));
  }

  /** Runs fn on the mounted trees of id and parent; with `stream`, fn's Readable keeps them until it closes. */
  private async withTrees<T>(id: string, parent: string | null, stream: boolean, fn: (newDir: string, oldDir: string | null) => Promise<T>): Promise<T> {
    this.checkOpen();
    if (parent !== null && !this.devices.hasDevice(parent)) throw new NotFoundError(`layer ${parent} does not exist`);
    return withMountedTrees(this, this.log, id, parent, stream, fn);
  }

  private checkOpen(): void {
    if (this.disposed) throw new UnavailableError('devicemapper driver has been disposed');
  }
}

/** `--storage-opt size=…` (dockerd's parseStorageOpt); 0 = the parent's size. */
function parseSizeOpt(opts: Record<string, string>): number {
  for (const [rawKey, val] of Object.entries(opts)) {
    const key = rawKey.toLowerCase();
    if (key !== 'size') throw new InvalidParameterError(`Unknown option ${key}`);
    try {
      return ramInBytes(val);
    } catch (err) {
      throw new InvalidParameterError((err as Error).message);
    }
  }
  return 0;
}

/** Ids are file and device names (escaped by deviceKey); the empty id is the base device's. */
function validId(id: string): boolean {
  return id.length > 0 && id.length <= 255 && !id.includes('/') && !id.includes('\0');
}

function checkId(id: string): void {
  if (!validId(id)) throw new InvalidParameterError(`invalid layer id ${JSON.stringify(id)}`);
}

/** Mount points from /proc/self/mountinfo (octal escapes decoded). */
async function isMountPoint(path: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field && field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === path) return true;
  }
  return false;
}
