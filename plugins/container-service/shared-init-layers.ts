import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphDriver, ImageStore, Logger } from '../../kernel/index.js';
import { setupInitLayer } from './init-layer.js';

/**
 * One init layer per image top layer, shared by every container made from
 * it, instead of dockerd's one `<container>-init` layer per container.
 *
 * Why it is the same filesystem: dockerd's init layer holds only fixed
 * placeholders (mount points and empty files the runtime binds over, see
 * init-layer.ts), created where the image has nothing; its content depends
 * on the image's layers alone, never on the container. Each container's own
 * writable layer sits on the shared one, so what a container writes (in /etc
 * or anywhere) stays in its own layer, and `docker diff` / `commit` (diffs
 * of the container layer against its parent, the init layer) see exactly
 * what they saw with a private init layer. The per-container files
 * (/etc/hosts, /etc/hostname, /etc/resolv.conf) are bind mounts from the
 * container's directory, as before. Creating an init layer is most of the
 * inodes a `docker create` makes (~18 on overlay2, a whole copy of the image
 * on vfs); sharing makes one per image instead of one per container.
 *
 * The layer id is `<top layer id>-init`: a graph driver's image-layer ids
 * are random per registration, so a re-pulled image never meets an old
 * layer of that name. Containers with `--storage-opt` keep a private init
 * layer (the options apply to it, as in dockerd), and so do images with no
 * layer at all.
 *
 * Lifetime: counted in memory by the containers whose records name the
 * layer (rebuilt at start from the records). After the last container's
 * removal it is kept, idle, for the image's next container: a loop of
 * `docker run --rm` would otherwise make and remove it every time (~10 ms of
 * a ~90 ms run on overlay2; a whole copy of the image on vfs). An idle layer
 * goes after IDLE_MS without a user, before its image is deleted (`evict`,
 * from the image store: its hold would keep the image's layers), and at
 * daemon shutdown. The layer holds the image's layers in the layer store for its
 * containers (one durable hold per image instead of one per container). Crash safety: a marker file named after the layer, under
 * `<containers>/.init-layers/<driver>/`, is written before the layer is
 * created and deleted after it is removed, and the record of a
 * container that uses the layer is saved only after the layer is complete.
 * At start, every marker no record uses has its layer removed: a kill -9
 * at any point leaves no layer behind and no container on a half-made one.
 */
/** How long an init layer no container uses is kept for the image's next one. */
const IDLE_MS = 60_000;

export class SharedInitLayers {
  private readonly entries = new Map<string, Entry>();
  /** Removals in flight, by layer id: a new user of the id waits for them. */
  private readonly removing = new Map<string, Promise<void>>();
  private dirMade = false;

  constructor(
    private readonly root: string,
    private readonly log: Logger,
    private readonly images: () => ImageStore | undefined,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** The shared init layer id for an image whose top driver layer is `top`. */
  static idFor(top: string): string {
    return `${top}-init`;
  }

  /**
   * Start: takes the layers the records use (`used`, one entry per
   * container) and removes the layers of every marker no record uses.
   */
  async restore(graph: GraphDriver, used: readonly string[]): Promise<number> {
    for (const id of used) {
      const e = this.entries.get(id);
      if (e) e.refs++;
      else this.entries.set(id, { refs: 1, ready: Promise.resolve(), graph });
    }
    const names = await readdir(this.dir(graph)).catch(() => [] as string[]);
    let removed = 0;
    for (const id of names) {
      if (id.startsWith('.')) {
        // A temp file of an older version's atomic marker write, cut short.
        await unlink(join(this.dir(graph), id)).catch(() => undefined);
        continue;
      }
      if (this.entries.has(id)) continue;
      await this.destroy(graph, id).catch((err: unknown) => this.log.warn('cannot remove an unused shared init layer', { layer: id, error: err }));
      removed++;
    }
    return removed;
  }

  /**
   * Takes a reference on the shared init layer of `top`, creating and
   * populating it first when no container has it. Resolves with its id once
   * it is complete; a failure takes no reference.
   */
  async acquire(graph: GraphDriver, top: string, imageId: string): Promise<string> {
    const id = SharedInitLayers.idFor(top);
    let e = this.entries.get(id);
    if (!e) {
      const pending = this.removing.get(id) ?? Promise.resolve();
      e = { refs: 0, ready: pending.then(() => this.make(graph, id, top, imageId)), graph };
      this.entries.set(id, e);
    }
    e.refs++;
    if (e.idle) {
      clearTimeout(e.idle);
      e.idle = undefined;
    }
    try {
      await e.ready;
    } catch (err) {
      e.refs--;
      void this.remove(id, e);
      throw err;
    }
    return id;
  }

  /** Drops one reference (a container removed); after the last one the layer is kept idle (see the class). Never throws. */
  async release(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.refs <= 0) return;
    e.refs--;
    if (e.refs > 0) return;
    e.idle = setTimeout(() => void this.remove(id, e), this.idleMs);
    e.idle.unref();
  }

  /**
   * Removes the idle layers: the one on the image layer `top` (its image is
   * about to be deleted), or all of them (shutdown). Resolves once they, and
   * any removal of them already under way, are gone. Never throws.
   */
  async evict(top?: string): Promise<void> {
    const only = top === undefined ? undefined : SharedInitLayers.idFor(top);
    const idle = [...this.entries].filter(([id, e]) => e.refs === 0 && (only === undefined || id === only));
    await Promise.all(idle.map(([id, e]) => this.remove(id, e)));
    await Promise.all([...this.removing].filter(([id]) => only === undefined || id === only).map(([, p]) => p));
  }

  /** True when `id` is a layer this class manages (a container's record names it, or it is kept idle). */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Removes a layer no container uses (a failed one at once; an idle one when evicted or timed out). */
  private remove(id: string, e: Entry): Promise<void> {
    if (e.refs > 0 || this.entries.get(id) !== e) return Promise.resolve();
    if (e.idle) clearTimeout(e.idle);
    this.entries.delete(id);
    const gone = e.ready.catch(() => undefined)
      .then(() => this.destroy(e.graph, id))
      .catch((err: unknown) => this.log.warn('failed to remove a shared init layer; retried at the next start', { layer: id, error: err }))
      .finally(() => { if (this.removing.get(id) === gone) this.removing.delete(id); });
    this.removing.set(id, gone);
    return gone;
  }

  /** Marker first, then the hold on the image's layers, the layer and its placeholders; a failure undoes them. */
  private async make(graph: GraphDriver, id: string, top: string, imageId: string): Promise<void> {
    const dir = this.dir(graph);
    if (!this.dirMade) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.dirMade = true;
    }
    // Its name is all that counts (a torn content is harmless), so no temp file and rename. Not
    // fsynced itself: a kill -9 loses nothing of it, and the hold's fsync below commits the
    // filesystem's journal, its creation included (ext4, xfs, btrfs journal metadata in order).
    await writeFile(join(dir, id), top, { mode: 0o600 });
    try {
      // The image's layers, held for the containers on this layer (dockerd holds them per container:
      // layerdb/mounts/<id>): `rmi -f` keeps them until the last container of the image is removed.
      const images = this.images();
      if (!images) throw new Error('no image store');
      await images.holdLayers(id, imageId);
      // A layer under this name here is what a removal that failed half-way left: not trusted, made again.
      if (await graph.exists(id)) await graph.remove(id);
      await graph.createReadWrite(id, top);
      await setupInitLayer(graph, id);
    } catch (err) {
      await this.destroy(graph, id).catch(() => undefined);
      throw err;
    }
  }

  private async destroy(graph: GraphDriver, id: string): Promise<void> {
    await graph.remove(id);
    await this.images()?.releaseLayers(id);
    await unlink(join(this.dir(graph), id)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  }

  private dir(graph: GraphDriver): string {
    // Per driver: after a storage-driver change, the old driver's layers are not ours to remove.
    return join(this.root, '.init-layers', graph.name);
  }
}

interface Entry {
  refs: number;
  /** Settles when the layer is complete (or failed to be made). */
  ready: Promise<void>;
  /** The driver it was made on (an idle one is removed later, from a timer or at shutdown). */
  graph: GraphDriver;
  /** While no container uses it: the timer that removes it. */
  idle?: NodeJS.Timeout;
}
