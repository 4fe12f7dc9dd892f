/**
 * vfs: every layer is a complete directory tree; a child starts as a full
 * copy of its parent. No copy-on-write, no mounts — it works on any
 * filesystem, which is why it is the last resort in dockerd's priority list.
 *
 * On-disk layout under the plugin root (`<data-root>/vfs`):
 *
 *   dir/<id>/        the layer's whole filesystem (dockerd's layout, so `get`
 *                    returns this path and a container's rootfs is this dir)
 *   meta/<id>.json   {"parent": "<id>|null", "rw": bool, "created": ISO time}
 *                    written atomically (tmp + rename) after dir/<id> is
 *                    complete: a layer exists once its meta file does, so a
 *                    crash mid-copy leaves no half layer, only a dir that the
 *                    next create of that id clears away.
 *
 * Diffs are naive (graph-common): the layer's tree is compared with its
 * parent's. `get`/`put` only count references, so `remove` can refuse a layer
 * that is in use.
 */
import { mkdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ConflictError, InvalidParameterError, NotFoundError, UnavailableError,
  silentLogger, type Change, type CreateLayerOptions, type GraphDriver, type Logger,
} from '../../kernel/index.js';
import { writeFileAtomic } from '../graph-common/atomic-write.js';
import { backingFsName } from '../graph-common/backing-fs.js';
import { copyTree } from '../graph-common/copy-tree.js';
import { DirLayerDiffs } from '../graph-common/dir-layer-diffs.js';
import { KeyedLock } from '../graph-common/keyed-lock.js';
import { checkLayerId as checkId, validLayerId as validId } from '../graph-common/layer-id.js';
import { LayerRefs } from '../graph-common/layer-refs.js';
import { lstatOrNull } from '../graph-common/tree-walk.js';
import { QUOTA_NOT_SUPPORTED, parseVfsOptions, type VfsOptions } from './vfs-options.js';

interface LayerMeta {
  parent: string | null;
  rw: boolean;
  created: string;
}

export class VfsDriver implements GraphDriver {
  readonly name = 'vfs';
  private readonly refs = new LayerRefs();
  private readonly locks = new KeyedLock();
  private disposed = false;
  private readonly diffs: DirLayerDiffs;

  private constructor(readonly root: string, private readonly options: VfsOptions, private readonly log: Logger) {
    this.diffs = new DirLayerDiffs((id, parent) => this.dirs(id, parent), log, { xattrErrors: options.bestEffortXattrs ? 'ignore' : 'error' });
  }

  /** Opens (creating if needed) a vfs store at root; `storageOpts` are dockerd's `storage-opts`. */
  static async open(root: string, opts: { storageOpts?: readonly string[]; log?: Logger } = {}): Promise<VfsDriver> {
    const options = parseVfsOptions(opts.storageOpts ?? []);
    await mkdir(root, { recursive: true, mode: 0o710 });
    await mkdir(join(root, 'dir'), { recursive: true, mode: 0o710 });
    await mkdir(join(root, 'meta'), { recursive: true, mode: 0o700 });
    return new VfsDriver(root, options, opts.log ?? silentLogger);
  }

  async status(): Promise<Array<[string, string]>> {
    const rows: Array<[string, string]> = [['Backing Filesystem', await backingFsName(this.root)]];
    // dockerd shows this row (and a warning in `docker info`) only in best-effort mode.
    if (this.options.bestEffortXattrs) rows.push(['Extended file attributes', 'best-effort']);
    return rows;
  }

  async metadata(id: string): Promise<Record<string, string>> {
    await this.meta(id);
    return {}; // dockerd's vfs reports no GraphDriver.Data
  }

  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    if (opts?.storageOpt && Object.keys(opts.storageOpt).length > 0) {
      throw new InvalidParameterError('--storage-opt is not supported for vfs on read-only layers');
    }
    return this.createLayer(id, parent, false);
  }

  async createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    for (const key of Object.keys(opts?.storageOpt ?? {})) {
      throw new InvalidParameterError(key === 'size' ? QUOTA_NOT_SUPPORTED : `Storage opt ${key} not supported`);
    }
    return this.createLayer(id, parent, true);
  }

  private async createLayer(id: string, parent: string | null, rw: boolean): Promise<void> {
    this.checkOpen();
    checkId(id);
    return this.locks.run(id, async () => {
      if (await this.exists(id)) throw new ConflictError(`layer ${id} already exists`);
      if (parent !== null && !(await this.exists(parent))) throw new NotFoundError(`parent layer ${parent} does not exist`);
      const dir = this.dir(id);
      await rm(dir, { recursive: true, force: true }); // leftovers of a create that crashed
      await mkdir(dir, 0o755);
      try {
        if (parent !== null) await copyTree(this.dir(parent), dir, this.log);
        const meta: LayerMeta = { parent, rw, created: new Date().toISOString() };
        await writeFileAtomic(this.metaPath(id), JSON.stringify(meta) + '\n', 0o600);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    });
  }

  async remove(id: string): Promise<void> {
    this.checkOpen();
    checkId(id);
    return this.locks.run(id, async () => {
      if (this.refs.inUse(id)) throw new ConflictError(`layer ${id} is in use`);
      await unlink(this.metaPath(id)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
      await rm(this.dir(id), { recursive: true, force: true });
    });
  }

  async exists(id: string): Promise<boolean> {
    if (!validId(id)) return false;
    return (await lstatOrNull(this.metaPath(id))) !== null && (await lstatOrNull(this.dir(id)))?.isDirectory() === true;
  }

  async get(id: string): Promise<string> {
    this.checkOpen();
    return this.locks.run(id, async () => {
      await this.meta(id);
      this.refs.take(id);
      return this.dir(id);
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

  /** The parent recorded at create time (null for a base layer). */
  async parentOf(id: string): Promise<string | null> {
    return (await this.meta(id)).parent;
  }

  private async dirs(id: string, parent: string | null): Promise<{ newDir: string; oldDir: string | null }> {
    this.checkOpen();
    await this.meta(id);
    if (parent !== null) await this.meta(parent);
    return { newDir: this.dir(id), oldDir: parent === null ? null : this.dir(parent) };
  }

  private async meta(id: string): Promise<LayerMeta> {
    if (!validId(id)) throw new NotFoundError(`layer ${id} does not exist`);
    try {
      return JSON.parse(await readFile(this.metaPath(id), 'utf8')) as LayerMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`layer ${id} does not exist`);
      throw err;
    }
  }

  private dir(id: string): string {
    return join(this.root, 'dir', id);
  }

  private metaPath(id: string): string {
    return join(this.root, 'meta', `${id}.json`);
  }

  private checkOpen(): void {
    if (this.disposed) throw new UnavailableError('vfs driver has been disposed');
  }
}
