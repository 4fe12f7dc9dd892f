/**
 * overlay2: layers stacked by the kernel's overlay filesystem, dockerd's
 * default driver and its on-disk layout, so a layer dir means the same here
 * as under /var/lib/docker/overlay2.
 *
 * Layout under the plugin root (`<data-root>/overlay2`):
 *
 *   l/<LINK> -> ../<id>/diff   one short symlink per layer. LINK is 26 random
 *                              base32 characters. Mounts name lower layers by
 *                              these links because mount(2) takes one page of
 *                              options: 29 bytes per lower instead of ~100.
 *   <id>/diff/                 the layer's own files: its upper dir while
 *                              mounted, a lower dir for its children. Deleted
 *                              files are char devices 0/0 (whiteouts), opaque
 *                              dirs carry trusted.overlay.opaque=y.
 *   <id>/link                  the layer's LINK name.
 *   <id>/lower                 "l/<parent LINK>:l/<grandparent LINK>:…",
 *                              nearest first; absent for a base layer. This
 *                              is the persisted parent pointer.
 *   <id>/work/                 overlay's scratch dir (layers with a parent).
 *   <id>/merged/               mount point, while the layer is mounted.
 *
 * A base layer is never mounted: `get` returns its diff dir. Other layers are
 * mounted on the first `get` and unmounted on the last `put` (reference
 * counted in memory; a mount found at startup is adopted). Chains go as deep
 * as the relative mount options fit in a page (~135 layers), far past
 * dockerd's fixed 128.
 *
 * Diffs are native (the upper dir is the diff) when the probe in
 * overlay-probe.ts allows it and the caller asks about the real parent;
 * otherwise the naive differ compares mounted trees, as dockerd does.
 */
import { mkdir, rm, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  ConflictError, InvalidParameterError, NotFoundError, UnavailableError,
  removeTree, silentLogger, type Change, type CreateLayerOptions, type GraphDriver, type LayerEntry, type Logger,
} from '../../kernel/index.js';
import { syncPaths, writeFileAtomic } from '../graph-common/atomic-write.js';
import { changesDirs, changesSize } from '../graph-common/changes.js';
import { dirSize } from '../graph-common/dir-size.js';
import { KeyedLock } from '../graph-common/keyed-lock.js';
import { mountHelper } from '../graph-common/mount-helper.js';
import { checkLayerId, validLayerId } from '../graph-common/layer-id.js';
import { applyThroughMount, withMountedTrees } from '../graph-common/mounted-trees.js';
import { writeLayerTar } from '../graph-common/layer-tar-writer.js';
import { exportChanges } from '../graph-common/naive-diff.js';
import { applyLayerTarOffThread } from '../graph-common/tar-apply-thread.js';
import { lstatOrNull } from '../graph-common/tree-walk.js';
import { readXattrTree } from '../graph-common/xattrs.js';
import { upperDirChanges, upperDirItems } from './overlay-diff.js';
import { MAX_LOWERS, MOUNT_DATA_LIMIT, OverlayLayout, newLinkId } from './overlay-layout.js';
import { isMountPoint, mountOverlay, relativeMountData, unmount } from './overlay-mount.js';
import { checkQuotaSupport, parseOverlayOptions } from './overlay-options.js';
import { populateUpper } from './overlay-populate.js';
import { inspectHost, nativeDiffUnsupported, type OverlayHost } from './overlay-probe.js';

export class OverlayDriver implements GraphDriver {
  readonly name = 'overlay2';
  private readonly layout: OverlayLayout;
  private readonly refs = new Map<string, number>();
  private readonly locks = new KeyedLock();
  private naiveReason?: Promise<string | null>;
  private disposed = false;

  private constructor(readonly root: string, private readonly host: OverlayHost, private readonly log: Logger, naiveOnly: boolean) {
    this.layout = new OverlayLayout(root);
    if (naiveOnly) this.naiveReason = Promise.resolve('native diff disabled by the caller');
  }

  /**
   * Opens a store at root. Support is the manifest's business (probeOverlay);
   * this only validates `storage-opts` and reads the host facts.
   */
  static async open(root: string, opts: { storageOpts?: readonly string[]; log?: Logger; /** Always diff through mounts (tests the fallback path). */ naiveDiff?: boolean } = {}): Promise<OverlayDriver> {
    const options = parseOverlayOptions(opts.storageOpts ?? []);
    await mkdir(root, { recursive: true, mode: 0o710 });
    const host = await inspectHost(root);
    checkQuotaSupport(options, host.backingFs);
    return new OverlayDriver(root, host, opts.log ?? silentLogger, opts.naiveDiff === true);
  }

  async status(): Promise<Array<[string, string]>> {
    return [
      ['Backing Filesystem', this.host.backingFs],
      // Node cannot see DT_UNKNOWN (readdir falls back to lstat), and the test mount passed; report as dockerd would.
      ['Supports d_type', 'true'],
      ['Using metacopy', String(this.host.usingMetacopy)],
      ['Native Overlay Diff', String((await this.naiveDiffReason()) === null)],
      ['userxattr', 'false'],
    ];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    await this.mustExist(id);
    const data: Record<string, string> = {
      WorkDir: this.layout.work(id),
      MergedDir: this.layout.merged(id),
      UpperDir: this.layout.diff(id),
    };
    const lowers = await this.lowerDirs(id);
    if (lowers.length > 0) data.LowerDir = lowers.join(':');
    return data;
  }

  async create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    if (opts?.storageOpt && 'size' in opts.storageOpt) throw new InvalidParameterError('--storage-opt size is only supported for ReadWrite Layers');
    return this.createLayer(id, parent);
  }

  async createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void> {
    for (const key of Object.keys(opts?.storageOpt ?? {})) {
      throw new InvalidParameterError(key === 'size' ? "--storage-opt is supported only for overlay over xfs with 'pquota' mount option" : `Unknown option ${key}`);
    }
    return this.createLayer(id, parent, opts?.volatile === true && parent !== null);
  }

  private async createLayer(id: string, parent: string | null, volatile = false): Promise<void> {
    this.checkOpen();
    checkId(id);
    await this.locks.run(id, async () => {
      if (await this.exists(id)) throw new ConflictError(`layer ${id} already exists`);
      let lowers: string[] = [];
      if (parent !== null) {
        await this.mustExist(parent, `parent layer ${parent} does not exist`);
        lowers = [this.layout.linkEntry(await this.layout.link(parent)), ...(await this.layout.lowers(parent))];
        const data = relativeMountData({ id, lowers, extraOptions: this.host.extraOptions });
        if (lowers.length > MAX_LOWERS || data.length > MOUNT_DATA_LIMIT) throw new InvalidParameterError('max depth exceeded');
      }
      const link = newLinkId();
      const dir = this.layout.dir(id);
      if (!this.linkDirMade) {
        await mkdir(this.layout.linkDir(), { recursive: true, mode: 0o700 });
        this.linkDirMade = true;
      }
      await mkdir(dir, 0o701);
      try {
        // Independent entries of the new directory, made side by side, then made durable in one
        // round: the metadata files and the directory that names them (and diff/, work/) fsynced
        // together, so they share one journal commit — not a file fsync, a rename and a directory
        // fsync per file, one after the other. Syncing after the rename is as safe as before it
        // here: the layer is new and nothing names it before create returns, so a host crash before
        // the fsyncs end leaves an unfinished layer, as a crash during any create does.
        // A volatile layer is thrown away after a host crash: its metadata is not synced at all.
        const steps: Array<Promise<unknown>> = [
          mkdir(this.layout.diff(id), 0o755).then(() => symlink(`../${id}/diff`, join(this.layout.linkDir(), link))),
          writeFileAtomic(this.layout.linkFile(id), link, 0o644, { sync: false }),
        ];
        if (parent !== null) {
          steps.push(mkdir(this.layout.work(id), 0o700), writeFileAtomic(this.layout.lowerFile(id), lowers.join(':'), 0o644, { sync: false }));
          if (volatile) steps.push(writeFile(this.layout.volatileFile(id), ''));
        }
        await settleAll(steps);
        if (!volatile) await syncPaths([this.layout.linkFile(id), ...(parent !== null ? [this.layout.lowerFile(id)] : []), dir]);
        this.layout.remember(id, link, lowers);
      } catch (err) {
        this.layout.forget(id);
        await rm(join(this.layout.linkDir(), link), { force: true });
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    });
  }

  async remove(id: string): Promise<void> {
    this.checkOpen();
    checkId(id);
    await this.locks.run(id, async () => {
      if ((this.refs.get(id) ?? 0) > 0) throw new ConflictError(`layer ${id} is in use`);
      if (!(await this.exists(id))) return;
      // Mounted without references: left over from a crash or another process. Unmount before deleting.
      // (No merged dir, no mount: `put` removes it after unmounting, so the mount table is read only when it is there.)
      if ((await lstatOrNull(this.layout.merged(id))) && (await isMountPoint(this.layout.merged(id)))) await unmount(this.layout.merged(id));
      const link = await this.layout.link(id).catch(() => '');
      this.layout.forget(id);
      if (link) await unlink(join(this.layout.linkDir(), link)).catch(() => undefined);
      await removeTree(this.layout.dir(id));
    });
  }

  async exists(id: string): Promise<boolean> {
    if (!validId(id)) return false;
    return (await lstatOrNull(this.layout.dir(id)))?.isDirectory() === true;
  }

  async get(id: string, mountLabel?: string): Promise<string> {
    this.checkOpen();
    return this.locks.run(id, async () => {
      // Reads that do not depend on each other overlap (every container start waits on them);
      // a missing layer still fails with mustExist's error.
      const lowersRead = this.layout.lowers(id);
      lowersRead.catch(() => undefined);
      await this.mustExist(id);
      const lowers = await lowersRead;
      const count = this.refs.get(id) ?? 0;
      if (lowers.length === 0) {
        this.refs.set(id, count + 1);
        return this.layout.diff(id);
      }
      const merged = this.layout.merged(id);
      if (count === 0) {
        // Already mounted: left by a crash (or a restored live container), reused as dockerd does.
        // A mount point that did not exist cannot hold a mount: the mount table is read only when
        // `merged` was there already (`put` removes it, so a new or cleanly released layer has none).
        const made = await mkdir(merged, { recursive: true, mode: 0o700 });
        const mounted = made === undefined && (await isMountPoint(merged));
        if (!mounted) await this.mount(id, lowers, mountLabel);
      }
      this.refs.set(id, count + 1);
      return merged;
    });
  }

  /**
   * Mounts id's merged dir; a layer created volatile is mounted with overlay's
   * `volatile` option (Linux 5.10+): no syncfs of the backing filesystem at
   * unmount, which on a busy disk is most of a `docker run --rm`'s exit.
   * The kernel refuses to remount a volatile upper while its
   * `work/work/incompat/volatile` marker exists (the content may be torn after
   * a host crash); the marker is cleared before each mount, since such a
   * layer is thrown away after a crash (`--rm`). A kernel without the option
   * mounts it normally.
   */
  private async mount(id: string, lowers: string[], mountLabel?: string): Promise<void> {
    const spec = { root: this.root, id, lowers, extraOptions: this.host.extraOptions, mountLabel };
    if (this.volatileMounts && (await lstatOrNull(this.layout.volatileFile(id)))) {
      await rm(join(this.layout.work(id), 'work', 'incompat'), { recursive: true, force: true });
      try {
        await mountOverlay({ ...spec, extraOptions: `${spec.extraOptions}volatile,` });
        return;
      } catch (err) {
        await mountOverlay(spec);
        // Only the option failed: no volatile mounts on this kernel.
        this.volatileMounts = false;
        this.log.info('overlay2: the kernel refused a volatile mount, --rm containers sync at unmount', { error: err });
        return;
      }
    }
    await mountOverlay(spec);
  }

  private volatileMounts = true;
  /** `l/` exists (made by the first create of this process). */
  private linkDirMade = false;

  /** Writes placeholders into id's upper dir without mounting it (see overlay-populate.ts). */
  async populate(id: string, entries: readonly LayerEntry[]): Promise<boolean> {
    this.checkOpen();
    return this.locks.run(id, async () => {
      await this.mustExist(id);
      // Mounted: the kernel owns the upper dir now; the caller goes through the mount.
      if ((this.refs.get(id) ?? 0) > 0) return false;
      const lowers = (await this.layout.lowers(id)).map((l) => join(this.root, l));
      return populateUpper(this.layout.diff(id), lowers, entries);
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
      await this.release(id);
    });
  }

  /** Unmounts id's merged dir if mounted and removes the empty mount point (dockerd's Put). */
  private async release(id: string): Promise<void> {
    const merged = this.layout.merged(id);
    if (!(await lstatOrNull(merged))) return;
    // A merged dir is a mount made by `get` (or adopted): unmount without reading the whole mount
    // table first; `unmount` takes "not mounted" for an answer.
    await unmount(merged);
    // The empty mount point goes too (dockerd's Rmdir); `get` makes it again. (rm without
    // `recursive` refuses any directory, so it was never removed here.)
    await rmdir(merged).catch(() => undefined);
  }

  async diff(id: string, parent: string | null): Promise<Readable> {
    if (await this.useNative(id, parent)) {
      const upper = this.layout.diff(id);
      const xattrs = await readXattrTree(upper);
      return writeLayerTar(upper, upperDirItems(upper, xattrs), { xattrs, onSkippedXattr: this.skippedXattr });
    }
    return this.withTrees(id, parent, true, async (newDir, oldDir) => {
      const { changes, newXattrs } = await changesDirs(newDir, oldDir);
      return exportChanges(newDir, changes, { xattrs: newXattrs, log: this.log });
    });
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    if (await this.useNative(id, parent)) {
      const upper = this.layout.diff(id);
      const xattrs = await readXattrTree(upper);
      if (parent === null) return upperDirChanges(upper, null, xattrs);
      const lowerView = await this.get(parent);
      try {
        return await upperDirChanges(upper, lowerView, xattrs);
      } finally {
        await this.put(parent);
      }
    }
    return this.withTrees(id, parent, false, async (newDir, oldDir) => (await changesDirs(newDir, oldDir)).changes);
  }

  async applyDiff(id: string, parent: string | null, diff: Readable): Promise<number> {
    if (await this.useNative(id, parent)) {
      return applyLayerTarOffThread(this.layout.diff(id), diff, { whiteouts: 'overlay', log: this.log });
    }
    // Through the mount: deletions become whiteouts because overlay makes them so.
    return applyThroughMount(this, this.log, id, diff);
  }

  /** Native diffs are unpacked into the layer's own diff dir, whatever its lowers hold. */
  async independentDiffs(): Promise<boolean> {
    return (await this.naiveDiffReason()) === null;
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    if (await this.useNative(id, parent)) return dirSize(this.layout.diff(id));
    return this.withTrees(id, parent, false, async (newDir, oldDir) => changesSize(newDir, (await changesDirs(newDir, oldDir)).changes));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const held = [...this.refs.keys()];
    this.refs.clear();
    for (const id of held) {
      await this.release(id).catch((err: unknown) => this.log.warn('failed to unmount layer on dispose', { layer: id, error: err }));
    }
    // Its last answers come back before it exits; another driver's next mount starts it again.
    mountHelper.stop();
  }

  /** Native diffs need the probe's blessing and the layer's real parent (dockerd's isParent check). */
  private async useNative(id: string, parent: string | null): Promise<boolean> {
    this.checkOpen();
    await this.mustExist(id);
    if (parent !== null) await this.mustExist(parent);
    if ((await this.naiveDiffReason()) !== null) return false;
    const lowers = await this.layout.lowers(id);
    if (parent === null) return lowers.length === 0;
    return lowers.length > 0 && (await this.layout.idOfLinkEntry(lowers[0])) === parent;
  }

  private naiveDiffReason(): Promise<string | null> {
    this.naiveReason ??= nativeDiffUnsupported(this.root, this.host).then((reason) => {
      if (reason) this.log.warn('Not using native diff for overlay2, this may cause degraded performance for building images', { reason });
      return reason;
    });
    return this.naiveReason;
  }

  /** Runs fn on the mounted trees of id and parent (null parent: nothing); see withMountedTrees. */
  private withTrees<T>(id: string, parent: string | null, stream: boolean, fn: (newDir: string, oldDir: string | null) => Promise<T>): Promise<T> {
    return withMountedTrees(this, this.log, id, parent, stream, fn);
  }

  private readonly skippedXattr = (rel: string, name: string) => this.log.warn('xattr with a binary value left out of the layer tar', { path: '/' + rel, xattr: name });

  private async lowerDirs(id: string): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await this.layout.lowers(id)) out.push(this.layout.diff(await this.layout.idOfLinkEntry(entry)));
    return out;
  }

  private async mustExist(id: string, message = `layer ${id} does not exist`): Promise<void> {
    if (!(await this.exists(id))) throw new NotFoundError(message);
  }

  private checkOpen(): void {
    if (this.disposed) throw new UnavailableError('overlay2 driver has been disposed');
  }
}

/** Waits for every step, then throws the first failure (cleanup must not race a step still running). */
async function settleAll(steps: Array<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Layer ids become directory names next to `l/`: not `l` itself. */
const RESERVED_IDS = ['l'];

function validId(id: string): boolean {
  return validLayerId(id, RESERVED_IDS);
}

function checkId(id: string): void {
  checkLayerId(id, RESERVED_IDS);
}
