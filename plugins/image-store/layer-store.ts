import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
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
  /** `index`: position of the layer in the list registerChain was given. */
  constructor(readonly expected: string, readonly actual: string, readonly index?: number) {
    super(`layer digest ${actual} does not match its diff ID ${expected}`);
  }
}

/** A driver layer made for a registration, not yet filled. */
interface Prepared {
  cacheId: string;
  parentCache: string | null;
  work: string;
  marker: string;
}

interface Applied extends Prepared {
  diffId: string;
  size: number;
}

/** One layer of registerChain: the diff ID the image config promises and how to open its (uncompressed) tar. */
export interface ChainLayer {
  diffId: string;
  open: () => Promise<Readable>;
}

/**
 * Layers of one chain unpacked at the same time (on their own worker threads), when the driver allows it.
 * Read at each use, not when the module loads: berthd's startup snapshot evaluates modules at build time.
 */
const parallelLayers = (): number => Math.max(2, Math.min(4, availableParallelism()));

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
   * Registers `layers` on top of each other, starting on `parentChain` (held
   * by the caller, or null): the layers of a `docker load` that the store
   * does not have yet. With a driver whose layers can be unpacked without
   * their parents' content (`independentDiffs`), every driver layer is
   * created first, in order, then the tars are unpacked at the same time,
   * each on its own worker thread, and the layers are registered in order:
   * on two cores a 5-layer load takes about the time of its largest layers
   * rather than their sum. Otherwise one after the other (vfs copies the
   * parent). Same outcome either way: every chain ID is locked for the
   * whole operation (in chain order, as every registration locks), a
   * digest that differs from its diff ID fails the whole call with a
   * DiffIdMismatchError carrying the layer's index, and nothing of a failed
   * call stays registered. The returned layers carry one reference each.
   */
  async registerChain(parentChain: string | null, layers: readonly ChainLayer[]): Promise<LayerRecord[]> {
    const parallel = layers.length > 1 && (await this.driver().independentDiffs?.()) === true;
    const out: LayerRecord[] = [];
    if (!parallel) {
      try {
        for (let i = 0; i < layers.length; i++) {
          const parent = i === 0 ? parentChain : out[i - 1]!.chainId;
          try {
            out.push(await this.register(await layers[i]!.open(), parent, layers[i]!.diffId));
          } catch (err) {
            throw err instanceof DiffIdMismatchError ? new DiffIdMismatchError(err.expected, err.actual, i) : err;
          }
        }
      } catch (err) {
        for (const rec of out.reverse()) await this.release(rec.chainId);
        throw err;
      }
      return out;
    }
    const parentRec = parentChain === null ? null : this.layers.get(parentChain) ?? null;
    if (parentChain !== null && !parentRec) throw new SystemError(`parent layer ${parentChain} does not exist`);
    const chains: string[] = [];
    for (const l of layers) chains.push(chains.length === 0 ? childChain(parentRec, l.diffId) : sha256(`${chains[chains.length - 1]} ${l.diffId}`));
    // Layers to let go of after a failure: released once the locks are given back (a release may remove
    // the layer, which takes its chain lock).
    let drop: LayerRecord[] = [];
    try {
      return await this.lockAll(chains, () => this.registerLocked(parentRec, chains, layers, out));
    } catch (err) {
      drop = out;
      throw err;
    } finally {
      for (const rec of drop.reverse()) await this.release(rec.chainId);
    }
  }

  /** registerChain's parallel path, the chain locks held; on failure `out` holds what the caller must release. */
  private async registerLocked(parentRec: LayerRecord | null, chains: string[], layers: readonly ChainLayer[], out: LayerRecord[]): Promise<LayerRecord[]> {
    {
      const jobs: Array<{ i: number; p: Prepared }> = [];
      const discardAll = async () => {
        for (const j of [...jobs].reverse()) await this.discard({ ...j.p, diffId: '', size: 0 });
      };
      try {
        let parentCache = parentRec?.cacheId ?? null;
        for (let i = 0; i < layers.length; i++) {
          // Registered meanwhile by another load (only possible while none of its parents is new here).
          if (jobs.length === 0 && this.acquire(chains[i]!)) {
            const rec = this.layers.get(chains[i]!)!;
            out.push(rec);
            parentCache = rec.cacheId;
            continue;
          }
          const p = await this.prepare(parentCache);
          jobs.push({ i, p });
          parentCache = p.cacheId;
        }
      } catch (err) {
        await discardAll();
        throw classify(err);
      }
      // Unpack: at most parallelLayers() at once; the first failure (in layer order) is what the caller hears.
      const results: Array<Applied | { error: unknown }> = new Array(jobs.length);
      let next = 0;
      const runner = async () => {
        while (next < jobs.length) {
          const k = next++;
          const { i, p } = jobs[k]!;
          try {
            const input = await layers[i]!.open();
            const splitter = new TarSplitter();
            splitter.on('error', () => { /* reported through applyDiff or splitter.problem */ });
            input.on('error', (err) => splitter.destroy(err));
            input.pipe(splitter);
            results[k] = await this.fill(p, input, splitter);
          } catch (error) {
            results[k] = { error };
            if (!(error instanceof BerthError) && (error as NodeJS.ErrnoException)?.code === undefined) results[k] = { error: classify(error) };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallelLayers(), jobs.length) }, runner));
      let failure: unknown = null;
      for (let k = 0; k < jobs.length && failure === null; k++) {
        const r = results[k]!;
        if ('error' in r) failure = r.error;
        else if (r.diffId !== layers[jobs[k]!.i]!.diffId) failure = new DiffIdMismatchError(layers[jobs[k]!.i]!.diffId, r.diffId, jobs[k]!.i);
      }
      if (failure !== null) {
        // fill() already removed the layers that failed; the others go now (removing twice is harmless).
        await discardAll();
        throw failure;
      }
      // Committed together: every registration's files written and synced at once (each in its own private
      // write-set dir), then renamed into sha256/ in chain order, one fsync of sha256/ for all, and only then
      // the pending markers dropped. A kill -9 anywhere before that sync leaves markers for every layer of the
      // batch: at restart the ones whose rename did not survive are removed by their marker, and the ones that
      // did are held by no image and collected, so the load leaves all of its image or none.
      let k = 0;
      try {
        const first = out.length > 0 ? out[out.length - 1]! : parentRec;
        await Promise.all(jobs.map((j, n) => {
          const a = results[n] as Applied;
          const parent = n === 0 ? first?.chainId ?? null : chains[jobs[n - 1]!.i]!;
          return writeRegistration(a.work, { diffId: a.diffId, size: a.size, cacheId: a.cacheId, parent });
        }));
        for (; k < jobs.length; k++) {
          const { i } = jobs[k]!;
          const parent = out.length > 0 ? out[out.length - 1]! : parentRec;
          out.push(await this.publish(chains[i]!, results[k] as Applied, parent));
        }
        await syncDir(join(this.root, 'sha256'));
      } catch (err) {
        for (const j of jobs.slice(k)) await this.discard({ ...j.p, diffId: '', size: 0 });
        throw err;
      }
      await Promise.all(jobs.map((j) => unlink(j.p.marker).catch(() => {})));
      return out;
    }
  }

  /** Runs fn holding the locks of every key, taken in order (the order every registration of a chain takes them). */
  private lockAll<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return fn();
    return this.locks.run(keys[0]!, () => this.lockAll(keys.slice(1), fn));
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
    let prepared: Prepared;
    try {
      prepared = await this.prepare(parent?.cacheId ?? null);
    } catch (err) {
      input.destroy();
      splitter.destroy();
      throw classify(err);
    }
    return this.fill(prepared, input, splitter);
  }

  /** A fresh driver layer on `parentCache`, its pending marker written first and its write-set dir made. */
  private async prepare(parentCache: string | null): Promise<Prepared> {
    const cacheId = randomId();
    const p: Prepared = { cacheId, parentCache, work: this.tmp(`write-set-${randomId().slice(0, 16)}`), marker: this.tmp(`pending-${cacheId}`) };
    try {
      await mkdir(p.work, { mode: 0o700 });
      await writeFileAtomic(p.marker, '', 0o600);
      await this.driver().create(cacheId, parentCache);
    } catch (err) {
      await this.discard({ ...p, diffId: '', size: 0 });
      throw err;
    }
    return p;
  }

  /** Unpacks the layer tar into a prepared driver layer, hashing it and recording its tar-split; discards the layer on failure. */
  private async fill(p: Prepared, input: Readable, splitter: TarSplitter): Promise<Applied> {
    try {
      splitter.saveTo(join(p.work, 'tar-split.json.gz'));
      const size = await this.driver().applyDiff(p.cacheId, p.parentCache, splitter);
      if (!splitter.readableEnded) {
        // Trailing data after the tar's end still counts towards the digest, as in dockerd.
        splitter.resume();
        await finished(splitter);
      }
      if (splitter.problem) throw splitter.problem;
      await splitter.close();
      return { ...p, diffId: splitter.diffId, size };
    } catch (err) {
      input.destroy();
      splitter.destroy();
      await this.discard({ ...p, diffId: '', size: 0 });
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
    const rec = await this.publish(chainId, a, parent);
    await syncDir(join(this.root, 'sha256'));
    await unlink(a.marker).catch(() => {});
    return rec;
  }

  /** A written registration renamed into sha256/ and recorded (not yet synced: the caller syncs sha256/, then drops the marker). */
  private async publish(chainId: string, a: Applied, parent: LayerRecord | null): Promise<LayerRecord> {
    const dir = this.dir(chainId);
    await rm(dir, { recursive: true, force: true }); // a broken leftover of an earlier registration
    await rename(a.work, dir);
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
