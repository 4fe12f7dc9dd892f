/**
 * btrfs: every layer is a btrfs subvolume; a child layer is a writable
 * snapshot of its parent, so creating one costs no copying and a container's
 * root filesystem is a plain directory (no mounts, as dockerd's driver).
 *
 * On-disk layout under the plugin root (`<data-root>/btrfs`), dockerd's:
 *
 *   subvolumes/<id>/   the layer's whole filesystem (a subvolume)
 *   quotas/<id>        the `--storage-opt size=` of a layer, in bytes, so the
 *                      qgroup limit is put back on each `get`
 *
 * A layer exists once its subvolume does. Subvolume create, snapshot and
 * delete are single atomic kernel operations, so a crash leaves either the
 * whole layer or none of it; an unpack interrupted by a crash leaves a layer
 * the image store's pending markers remove at the next start.
 *
 * Diffs are naive (graph-common), as dockerd wraps btrfs in its
 * NaiveDiffDriver: the layer's tree is compared with its parent's.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ConflictError, InvalidParameterError, NotFoundError, UnavailableError,
  silentLogger, type Change, type CreateLayerOptions, type GraphDriver, type Logger,
} from '../../kernel/index.js';
import { writeFileAtomic } from '../graph-common/atomic-write.js';
import { DirLayerDiffs } from '../graph-common/dir-layer-diffs.js';
import { KeyedLock } from '../graph-common/keyed-lock.js';
import { checkLayerId as checkId, validLayerId as validId } from '../graph-common/layer-id.js';
import { LayerRefs } from '../graph-common/layer-refs.js';
import { lstatOrNull } from '../graph-common/tree-walk.js';
import { layerQuota, parseBtrfsOptions, type BtrfsOptions } from './btrfs-options.js';
import {
  buildVersion, qgroupDestroy, qgroupLimit, quotaEnable, quotaEnabled, quotaRescan,
  subvolCreate, subvolDelete, subvolId, subvolSnapshot,
} from './btrfs-tools.js';

/**
 * libbtrfs' ABI version as dockerd prints it (BTRFS_LIB_VERSION = major*10000
 * + minor*100 + patch): btrfs-progs has shipped libbtrfs 0.1.2 for years.
 */
const LIBRARY_VERSION = '102';

export class BtrfsDriver implements GraphDriver {
  readonly name = 'btrfs';
  private readonly refs = new LayerRefs();
  private readonly locks = new KeyedLock();
  private quotaOn: boolean | null = null;
  private disposed = false;
  private readonly diffs: DirLayerDiffs;

  private constructor(readonly home: string, private readonly options: BtrfsOptions, private readonly log: Logger) {
    this.diffs = new DirLayerDiffs((id, parent) => this.dirs(id, parent), log);
  }

  /**
   * Opens (creating if needed) a btrfs store at `home`, which must be on
   * btrfs (the manifest probes that first). `btrfs.min_space` turns quotas
   * on at once, as dockerd does.
   */
  static async open(home: string, opts: { storageOpts?: readonly string[]; log?: Logger } = {}): Promise<BtrfsDriver> {
    const options = parseBtrfsOptions(opts.storageOpts ?? []);
    await mkdir(home, { recursive: true, mode: 0o710 });
    await mkdir(join(home, 'subvolumes'), { recursive: true, mode: 0o710 });
    const driver = new BtrfsDriver(home, options, opts.log ?? silentLogger);
    if (options.quota) await driver.enableQuota();
    return driver;
  }

  async status(): Promise<Array<[string, string]>> {
    const rows: Array<[string, string]> = [];
    const bv = await buildVersion();
    if (bv) rows.push(['Build Version', bv]);
    rows.push(['Library Version', LIBRARY_VERSION]);
    return rows;
  }

  async metadata(id: string): Promise<Record<string, string>> {
    await this.mustExist(id);
    return {}; // dockerd's btrfs reports no GraphDriver.Data
  }

  create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.createLayer(id, parent, opts);
  }

  /** dockerd's btrfs makes no difference between read-only and read-write layers. */
  createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    return this.createLayer(id, parent, opts);
  }

  private async createLayer(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    this.checkOpen();
    checkId(id);
    const quota = layerQuota(opts?.storageOpt, this.options.minSpace);
    return this.locks.run(id, async () => {
      if (await this.exists(id)) throw new ConflictError(`layer ${id} already exists`);
      if (parent !== null && !(await this.exists(parent))) throw new NotFoundError(`parent layer ${parent} does not exist`);
      const dir = this.dir(id);
      if (parent === null) await subvolCreate(dir);
      else await subvolSnapshot(this.dir(parent), dir);
      if (quota === null) return;
      try {
        await this.enableQuota();
        await qgroupLimit(dir, quota);
        await mkdir(join(this.home, 'quotas'), { recursive: true, mode: 0o700 });
        await writeFileAtomic(this.quotaPath(id), String(quota), 0o644);
      } catch (err) {
        // A layer without the limit that was asked for must not stay behind.
        await subvolDelete(dir).catch((e) => this.log.warn('cannot remove a layer whose quota failed', { id, error: e }));
        throw err;
      }
    });
  }

  async remove(id: string): Promise<void> {
    this.checkOpen();
    checkId(id);
    return this.locks.run(id, async () => {
      if (this.refs.inUse(id)) throw new ConflictError(`layer ${id} is in use`);
      if (!(await this.exists(id))) return;
      await unlink(this.quotaPath(id)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
      const quota = await this.quotaActive();
      const qgroup = quota ? await subvolId(this.dir(id)).catch(() => null) : null;
      await subvolDelete(this.dir(id));
      if (!quota) return;
      // Its qgroup outlives the subvolume; dockerd destroys it and rescans so usage stays right.
      if (qgroup) await qgroupDestroy(`0/${qgroup}`, this.home).catch((err) => this.log.warn('cannot delete the qgroup of a removed layer', { id, error: err }));
      await quotaRescan(this.home).catch((err) => this.log.warn('btrfs quota rescan failed', { error: err }));
    });
  }

  async exists(id: string): Promise<boolean> {
    if (!validId(id)) return false;
    return (await lstatOrNull(this.dir(id)))?.isDirectory() === true;
  }

  async get(id: string): Promise<string> {
    this.checkOpen();
    return this.locks.run(id, async () => {
      await this.mustExist(id);
      const dir = this.dir(id);
      // As dockerd: the limit is put back on each use (quotas may have been off in between).
      const saved = Number((await readFile(this.quotaPath(id), 'utf8').catch(() => '')).trim());
      if (saved > 0 && saved >= this.options.minSpace) {
        await this.enableQuota();
        await qgroupLimit(dir, saved);
      }
      this.refs.take(id);
      return dir;
    });
  }

  put(id: string): Promise<void> {
    return this.locks.run(id, async () => this.refs.drop(id));
  }

  diff(id: string, parent: string | null): Promise<Readable> {
    return this.diffs.diff(id, parent);
  }

  changes(id: string, parent: string | null): Promise<Change[]> {
    return this.diffs.changes(id, parent);
  }

  applyDiff(id: string, parent: string | null, diff: Readable): Promise<number> {
    return this.diffs.applyDiff(id, parent, diff);
  }

  diffSize(id: string, parent: string | null): Promise<number> {
    return this.diffs.diffSize(id, parent);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.refs.clear(); // nothing is mounted; references die with the instance
  }

  /** Turns quotas on for the filesystem (needed for `size=`); a host that refuses gets the tool's reason. */
  private async enableQuota(): Promise<void> {
    if (await this.quotaActive()) return;
    await quotaEnable(this.home);
    this.quotaOn = true;
  }

  private async quotaActive(): Promise<boolean> {
    if (this.quotaOn === null || !this.quotaOn) this.quotaOn = await quotaEnabled(this.home);
    return this.quotaOn;
  }

  private async dirs(id: string, parent: string | null): Promise<{ newDir: string; oldDir: string | null }> {
    this.checkOpen();
    await this.mustExist(id);
    if (parent !== null) await this.mustExist(parent);
    return { newDir: this.dir(id), oldDir: parent === null ? null : this.dir(parent) };
  }

  private async mustExist(id: string): Promise<void> {
    if (!(await this.exists(id))) throw new NotFoundError(`layer ${id} does not exist`);
  }

  private dir(id: string): string {
    return join(this.home, 'subvolumes', id);
  }

  private quotaPath(id: string): string {
    return join(this.home, 'quotas', id);
  }

  private checkOpen(): void {
    if (this.disposed) throw new UnavailableError('btrfs driver has been disposed');
  }
}
