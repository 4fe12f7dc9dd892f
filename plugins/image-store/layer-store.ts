import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  BerthError, InvalidParameterError, SystemError, writeFileAtomic, type GraphDriver, type Logger,
} from '../../kernel/index.js';
import { hexOf, randomId, sha256 } from './digest.js';
import { readRegistrations, syncDir, writeRegistration } from './layerdb-files.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { TarSplitter, assembleTar, assembledSize } from './tar-split.js';

/**
 * The layer store (dockerd's layerdb) on top of the graph driver.
 *
 * Layout under `<data-root>/image/<driver>/layerdb/`, as dockerd's:
 *
 *   sha256/<chain hex>/diff                "sha256:<diff id>"
 *                     /size                unpacked bytes of this layer
 *                     /cache-id            the graph driver's id for the layer (random)
 *                     /parent              "sha256:<parent chain id>" (absent for a base layer)
 *                     /tar-split.json.gz   the tar minus file data (see tar-split.ts)
 *   mounts/<container id>/parent           the top layer a container's read-write layer sits on
 *   tmp/write-set-*                        a registration being written
 *   tmp/pending-<cache-id>                 a driver layer that may be unreferenced
 *
 * Crash safety: a layer is unpacked into a fresh driver id, its metadata
 * written into tmp/write-set-*, and only then the whole directory renamed to
 * sha256/<chain>: a layer exists once that rename happened. Before a driver
 * layer is created or removed, a `pending-<cache-id>` marker is written; at
 * startup every marker whose cache id no registered layer claims has its
 * driver layer removed, and tmp/ is emptied. Layers no image holds are
 * removed at startup too (a kill -9 between registering layers and writing
 * the image config leaves them).
 *
 * Reference counts live in memory, as in dockerd: a layer is referenced by
 * each child layer, each image whose top layer it is, each container
 * mount, and each operation holding it (a load in progress, a save being
 * streamed). A layer whose
 * count drops to zero is removed with its now-unused parents. Work on one
 * chain id is serialised, so concurrent loads of a shared layer unpack it
 * once and a removal never races a re-registration.
 */
export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent: LayerRecord | null;
  cacheId: string;
  /** Unpacked size of this layer alone (the graph driver's applyDiff count). */
  size: number;
  refs: number;
}

/** The layer's digest differs from the diff ID the image config promises. */
export class DiffIdMismatchError extends InvalidParameterError {
  constructor(readonly expected: string, readonly actual: string) {
    super(`layer digest ${actual} does not match its diff ID ${expected}`);
  }
}

interface Applied {
  cacheId: string;
  diffId: string;
  size: number;
  work: string;
  marker: string;
}

export class LayerStore {
  private readonly layers = new Map<string, LayerRecord>();
  private readonly locks = new KeyedMutex();

  private constructor(private readonly root: string, private readonly driver: () => GraphDriver, private readonly log: Logger) {}

  /** Opens the layerdb at `root`, loading every registered layer (counts start at their children). */
  static async open(root: string, driver: () => GraphDriver, log: Logger): Promise<LayerStore> {
    const store = new LayerStore(root, driver, log);
    await mkdir(root, { recursive: true, mode: 0o700 });
    await Promise.all(['sha256', 'tmp', 'mounts'].map((d) => mkdir(join(root, d), { recursive: true, mode: 0o700 })));
    await store.restore();
    await store.restoreMounts();
    return store;
  }

  get(chainId: string): LayerRecord | undefined {
    return this.layers.get(chainId);
  }

  all(): LayerRecord[] {
    return [...this.layers.values()];
  }

  /** Takes a reference on a registered layer; false when it does not exist. Synchronous on purpose. */
  acquire(chainId: string): boolean {
    const rec = this.layers.get(chainId);
    if (!rec) return false;
    rec.refs++;
    return true;
  }

  /** Drops one reference; layers (and parents) left unreferenced are removed. Returns them, top first. */
  release(chainId: string): Promise<LayerRecord[]> {
    const rec = this.layers.get(chainId);
    if (!rec) return Promise.resolve([]);
    rec.refs--;
    return this.destroyAll(this.collect(rec));
  }

  /** Persistently holds `chainId` for a container (idempotent per container). */
  async holdMount(containerId: string, chainId: string): Promise<void> {
    const dir = this.mountDir(containerId);
    const current = (await readFile(join(dir, 'parent'), 'utf8').catch(() => '')).trim();
    if (current === chainId) return;
    if (!this.acquire(chainId)) throw new SystemError(`layer ${chainId} does not exist`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'parent'), chainId, 0o600);
    if (current) await this.release(current);
  }

  /** Drops a container's hold; a second call finds nothing to do. */
  async releaseMount(containerId: string): Promise<void> {
    const dir = this.mountDir(containerId);
    const chainId = (await readFile(join(dir, 'parent'), 'utf8').catch(() => '')).trim();
    await rm(dir, { recursive: true, force: true });
    if (chainId) await this.release(chainId);
  }

  /**
   * Unpacks an uncompressed layer tar on top of `parentChain` (which the
   * caller holds) and registers it. With `expectedDiffId` (a load) the work
   * is serialised on the chain id and a digest mismatch is refused; without
   * it (an import) the diff ID is learnt from the data. The returned layer
   * carries one reference for the caller.
   */
  async register(input: Readable, parentChain: string | null, expectedDiffId?: string): Promise<LayerRecord> {
    // Start consuming at once: an error of the input before the first await must not go unheard.
    if (input.errored) throw input.errored;
    const splitter = new TarSplitter();
    splitter.on('error', () => { /* reported through applyDiff or splitter.problem */ });
    input.on('error', (err) => splitter.destroy(err));
    input.pipe(splitter);
    const parent = parentChain === null ? null : this.layers.get(parentChain) ?? null;
    const abandon = () => { input.destroy(); splitter.destroy(); };
    if (parentChain !== null && !parent) { abandon(); throw new SystemError(`parent layer ${parentChain} does not exist`); }
    if (expectedDiffId !== undefined) {
      const chain = childChain(parent, expectedDiffId);
      return this.locks.run(chain, async () => {
        if (this.acquire(chain)) { abandon(); return this.layers.get(chain)!; }
        const applied = await this.apply(input, splitter, parent);
        if (applied.diffId !== expectedDiffId) {
          await this.discard(applied);
          throw new DiffIdMismatchError(expectedDiffId, applied.diffId);
        }
        return this.commit(chain, applied, parent);
      });
    }
    const applied = await this.apply(input, splitter, parent);
    const chain = childChain(parent, applied.diffId);
    return this.locks.run(chain, async () => {
      if (this.acquire(chain)) { await this.discard(applied); return this.layers.get(chain)!; }
      return this.commit(chain, applied, parent);
    });
  }

  /**
   * The layer's tar exactly as it was registered, and its length. The caller
   * holds the layer until the stream is done; a stream whose bytes no longer
   * hash to the diff ID fails at its end.
   */
  async tarStream(chainId: string): Promise<{ stream: Readable; size: number }> {
    const rec = this.layers.get(chainId);
    if (!rec) throw new SystemError(`layer ${chainId} does not exist`);
    const split = join(this.dir(chainId), 'tar-split.json.gz');
    const size = await this.tarSize(chainId);
    const driver = this.driver();
    const mountpoint = await driver.get(rec.cacheId);
    const hash = createHash('sha256');
    const verify = new Transform({
      transform(chunk: Buffer, _enc, cb) { hash.update(chunk); cb(null, chunk); },
      flush(cb) {
        const got = 'sha256:' + hash.digest('hex');
        cb(got === rec.diffId ? null : new SystemError(`layer ${chainId} no longer matches its diff ID (got ${got})`));
      },
    });
    const source = assembleTar(split, mountpoint);
    source.on('error', (err) => verify.destroy(err));
    source.pipe(verify);
    let released = false;
    const release = () => { if (!released) { released = true; void driver.put(rec.cacheId).catch(() => {}); } };
    verify.once('close', () => { source.destroy(); release(); });
    return { stream: verify, size };
  }

  /** Length of the layer's original tar. */
  async tarSize(chainId: string): Promise<number> {
    try {
      return await assembledSize(join(this.dir(chainId), 'tar-split.json.gz'));
    } catch (err) {
      throw new SystemError(`layer ${chainId} cannot be exported: its tar-split data is unreadable: ${(err as Error).message}`);
    }
  }

  /** `GraphDriver.Data` of a layer. */
  async metadata(chainId: string): Promise<Record<string, string>> {
    const rec = this.layers.get(chainId);
    if (!rec) throw new SystemError(`layer ${chainId} does not exist`);
    return this.driver().metadata(rec.cacheId);
  }

  /**
   * Startup cleanup, once the images have taken their references: removes
   * layers nothing holds, then every driver layer a pending marker names
   * that no registered layer uses, then whatever is left in tmp/.
   */
  async collectGarbage(): Promise<number> {
    let removed = 0;
    for (const rec of [...this.layers.values()]) {
      if (this.layers.get(rec.chainId) !== rec || rec.refs > 0) continue;
      this.log.info('removing unreferenced layer', { chainID: rec.chainId });
      removed += (await this.destroyAll(this.collect(rec))).length;
    }
    const used = new Set([...this.layers.values()].map((l) => l.cacheId));
    for (const name of await readdir(join(this.root, 'tmp'))) {
      const path = join(this.root, 'tmp', name);
      if (name.startsWith('pending-')) {
        const cacheId = name.slice('pending-'.length);
        if (!used.has(cacheId)) {
          try {
            await this.driver().remove(cacheId);
          } catch (err) {
            this.log.warn('cannot remove leftover layer', { cacheID: cacheId, error: err });
            continue;
          }
        }
      }
      await rm(path, { recursive: true, force: true });
    }
    return removed;
  }

  // --- internals ---------------------------------------------------------------

  private dir(chainId: string): string {
    return join(this.root, 'sha256', hexOf(chainId));
  }

  private mountDir(containerId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(containerId) || containerId.startsWith('.')) throw new SystemError(`invalid container id ${JSON.stringify(containerId)}`);
    return join(this.root, 'mounts', containerId);
  }

  private async restoreMounts(): Promise<void> {
    for (const name of await readdir(join(this.root, 'mounts'))) {
      const chainId = (await readFile(join(this.root, 'mounts', name, 'parent'), 'utf8').catch(() => '')).trim();
      if (chainId && !this.acquire(chainId)) this.log.error('container layer parent is missing', { container: name, chainID: chainId });
    }
  }

  private tmp(name: string): string {
    return join(this.root, 'tmp', name);
  }

  /** Synchronously unlinks an unreferenced layer and the parents that become unreferenced. */
  private collect(rec: LayerRecord): LayerRecord[] {
    const out: LayerRecord[] = [];
    let cur: LayerRecord | null = rec;
    while (cur && cur.refs <= 0 && this.layers.get(cur.chainId) === cur) {
      this.layers.delete(cur.chainId);
      out.push(cur);
      cur = cur.parent;
      if (cur) cur.refs--;
    }
    return out;
  }

  /** Removes layers in order (children before parents), each under its chain lock, queued at once. */
  private destroyAll(removed: LayerRecord[]): Promise<LayerRecord[]> {
    let prev: Promise<void> = Promise.resolve();
    for (const rec of removed) {
      const after = prev;
      prev = this.locks.run(rec.chainId, async () => {
        await after;
        await this.destroy(rec);
      });
    }
    return prev.then(() => removed);
  }

  /** Never throws: a failure leaves the pending marker, and startup finishes the job. */
  private async destroy(rec: LayerRecord): Promise<void> {
    const marker = this.tmp(`pending-${rec.cacheId}`);
    try {
      await writeFileAtomic(marker, rec.chainId, 0o600);
      const dir = this.dir(rec.chainId);
      const onDisk = await readFile(join(dir, 'cache-id'), 'utf8').catch(() => null);
      if (onDisk?.trim() === rec.cacheId) {
        const gone = this.tmp(`removing-${hexOf(rec.chainId)}-${randomId().slice(0, 8)}`);
        await rename(dir, gone);
        await syncDir(join(this.root, 'sha256'));
        await rm(gone, { recursive: true, force: true });
      }
      await this.driver().remove(rec.cacheId);
      await unlink(marker);
    } catch (err) {
      this.log.error('failed to remove layer; it is retried at the next start', { chainID: rec.chainId, error: err });
    }
  }

  private async apply(input: Readable, splitter: TarSplitter, parent: LayerRecord | null): Promise<Applied> {
    const cacheId = randomId();
    const work = this.tmp(`write-set-${randomId().slice(0, 16)}`);
    const marker = this.tmp(`pending-${cacheId}`);
    const driver = this.driver();
    try {
      await mkdir(work, { mode: 0o700 });
      splitter.saveTo(join(work, 'tar-split.json.gz'));
      await writeFileAtomic(marker, '', 0o600);
      await driver.create(cacheId, parent?.cacheId ?? null);
      const size = await driver.applyDiff(cacheId, parent?.cacheId ?? null, splitter);
      if (!splitter.readableEnded) {
        // Trailing data after the tar's end still counts towards the digest, as in dockerd.
        splitter.resume();
        await finished(splitter);
      }
      if (splitter.problem) throw splitter.problem;
      await splitter.close();
      return { cacheId, diffId: splitter.diffId, size, work, marker };
    } catch (err) {
      input.destroy();
      splitter.destroy();
      await this.discard({ cacheId, diffId: '', size: 0, work, marker });
      throw splitter.problem ?? classify(err);
    }
  }

  private async discard(a: Applied): Promise<void> {
    try {
      await this.driver().remove(a.cacheId);
      await rm(a.work, { recursive: true, force: true });
      await unlink(a.marker).catch(() => {});
    } catch (err) {
      this.log.warn('failed to clean up an unregistered layer; it is retried at the next start', { cacheID: a.cacheId, error: err });
    }
  }

  private async commit(chainId: string, a: Applied, parent: LayerRecord | null): Promise<LayerRecord> {
    await writeRegistration(a.work, { diffId: a.diffId, size: a.size, cacheId: a.cacheId, parent: parent?.chainId ?? null });
    const dir = this.dir(chainId);
    await rm(dir, { recursive: true, force: true }); // a broken leftover of an earlier registration
    await rename(a.work, dir);
    await syncDir(join(this.root, 'sha256'));
    await unlink(a.marker).catch(() => {});
    const rec: LayerRecord = { chainId, diffId: a.diffId, parent, cacheId: a.cacheId, size: a.size, refs: 1 };
    if (parent) parent.refs++;
    this.layers.set(chainId, rec);
    return rec;
  }

  private async restore(): Promise<void> {
    const raw = await readRegistrations(join(this.root, 'sha256'), this.log);
    const build = (chainId: string, seen: Set<string>): LayerRecord | null => {
      const have = this.layers.get(chainId);
      if (have) return have;
      const r = raw.get(chainId);
      if (!r || seen.has(chainId)) return null;
      seen.add(chainId);
      const parent = r.parent === null ? null : build(r.parent, seen);
      if (r.parent !== null && !parent) {
        this.log.error('ignoring layer whose parent is missing', { chainID: chainId, parent: r.parent });
        return null;
      }
      if (childChain(parent, r.diffId) !== chainId) {
        this.log.error('ignoring layer whose chain ID does not match its content', { chainID: chainId });
        return null;
      }
      const rec: LayerRecord = { chainId, diffId: r.diffId, parent, cacheId: r.cacheId, size: r.size, refs: 0 };
      if (parent) parent.refs++;
      this.layers.set(chainId, rec);
      return rec;
    };
    for (const chainId of raw.keys()) build(chainId, new Set());
  }
}

function childChain(parent: LayerRecord | null, diffId: string): string {
  return parent === null ? diffId : sha256(`${parent.chainId} ${diffId}`);
}

/**
 * Errors from unpacking: ours and the host's (errno codes: ENOSPC, EIO…)
 * keep their kind; anything else came from parsing the archive and is the
 * client's fault.
 */
function classify(err: unknown): Error {
  if (err instanceof BerthError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return err as Error;
  return new InvalidParameterError(`invalid layer archive: ${(err as Error)?.message ?? String(err)}`);
}
