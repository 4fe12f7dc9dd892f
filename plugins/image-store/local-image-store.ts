import type { Readable } from 'node:stream';
import { NotFoundError } from '../../kernel/index.js';
import type {
  CommitRequest, DeleteRecord, EventBus, GraphDriver, HistoryEntry, ImageInfo, ImageStore, ImportOptions, LoadOutput, Logger, PruneOptions, PruneReport,
} from '../../kernel/index.js';
import { ImageCore, type ContainerUse } from './image-core.js';
import { StoreContent } from './image-content.js';
import { pruneImages, removeImage } from './image-delete.js';
import { imageHistory } from './image-history.js';
import { importImage } from './image-import.js';
import { commitImage } from './image-commit.js';
import { loadImages } from './image-load.js';
import { saveImages } from './image-save.js';
import { tagImage } from './image-tag.js';
import type { MigrationReport } from './image-migrate.js';
import { migrateFromDriver, type DriverMigration } from './migrate-driver.js';
import { imagesUnderOtherDrivers, strandedWarning, type OtherDriverStore } from './other-driver-stores.js';
import { pullReference, refString } from './reference.js';

export interface LocalImageStoreOptions {
  /** `<data-root>/image/<driver name>`, dockerd's layout. */
  root: string;
  /** The graph driver, looked up at use time (never cached across swaps). */
  driver: () => GraphDriver;
  events: EventBus;
  log: Logger;
  /** The containers that exist, for delete conflicts. */
  containers?: () => Promise<ContainerUse[]>;
  /** Drops the container service's cache on an image about to be deleted (CoreOptions.evictCaches). */
  evictCaches?: (topLayer: string) => Promise<void>;
  /** The daemon's data root, to find the stores of other storage drivers (`<data-root>/image/*`). */
  dataRoot?: string;
}

/**
 * The `image-store.v1` provider: dockerd's graphdriver-backed image service
 * (content-addressed images, layer store with tar-split, reference store).
 * This class only routes each contract method to the file that implements
 * it; state and locking live in ImageCore.
 */
export class LocalImageStore implements ImageStore {
  readonly content: StoreContent;

  private constructor(private readonly core: ImageCore, private readonly dataRoot?: string) {
    this.content = new StoreContent(core);
  }

  static async open(opts: LocalImageStoreOptions): Promise<LocalImageStore> {
    const driverName = opts.driver().name;
    return new LocalImageStore(await ImageCore.open({ ...opts, driverName }), opts.dataRoot);
  }

  /** Images other storage drivers' stores hold that this one does not. */
  strandedStores(): Promise<OtherDriverStore[]> {
    if (!this.dataRoot) return Promise.resolve([]);
    return imagesUnderOtherDrivers(this.dataRoot, this.driverName, (id) => this.core.images.has(id));
  }

  /** `docker info` Warnings: which images stay under a previous storage driver, and how to bring them over. */
  async warnings(): Promise<string[]> {
    return (await this.strandedStores()).map((s) => `WARNING: ${strandedWarning(s, this.driverName)}`);
  }

  /** Copies the images of another driver's store into this one (migrate-driver.ts). */
  migrateFrom(m: Omit<DriverMigration, 'dst'>): Promise<MigrationReport> {
    return migrateFromDriver({ ...m, dst: this.core });
  }

  get driverName(): string {
    return this.core.driverName;
  }

  async count(): Promise<number> {
    return this.core.images.size;
  }

  /** ImageDiskUsage: layers of every image except untagged intermediates. */
  async layersSize(): Promise<number> {
    const used = new Set<string>();
    for (const img of this.core.images.values()) {
      if (this.core.references(img.id).length === 0 && this.core.children(img.id).length > 0) continue;
      for (const c of img.chain) used.add(c);
    }
    let total = 0;
    for (const c of used) total += this.core.layers.get(c)?.size ?? 0;
    return total;
  }

  async get(refOrId: string): Promise<ImageInfo> {
    return this.core.info(this.core.resolve(refOrId));
  }

  async list(): Promise<ImageInfo[]> {
    return [...this.core.images.values()].map((img) => this.core.info(img));
  }

  async driverData(imageId: string): Promise<Record<string, string> | null> {
    const img = this.core.images.get(imageId);
    const top = img?.chain[img.chain.length - 1];
    return top === undefined ? null : this.core.layers.metadata(top);
  }

  async history(refOrId: string): Promise<HistoryEntry[]> {
    return imageHistory(this.core, refOrId);
  }

  tag(refOrId: string, repo: string, tag?: string): Promise<void> {
    return tagImage(this.core, refOrId, repo, tag);
  }

  remove(refOrId: string, opts: { force: boolean; prune: boolean }): Promise<DeleteRecord[]> {
    return this.core.exclusive(() => removeImage(this.core, refOrId, opts.force, opts.prune));
  }

  prune(opts: PruneOptions): Promise<PruneReport> {
    return pruneImages(this.core, opts);
  }

  importImage(tar: Readable, opts: ImportOptions): Promise<string> {
    return importImage(this.core, tar, opts);
  }

  load(archive: Readable, opts: { quiet: boolean; out: LoadOutput }): Promise<void> {
    return loadImages(this.core, archive, opts);
  }

  save(names: string[]): Promise<Readable> {
    return saveImages(this.core, names);
  }

  pullReference(image: string, tag?: string): string {
    return refString(pullReference(image, tag));
  }

  async topLayer(imageId: string): Promise<string | null> {
    const img = this.core.images.get(imageId);
    const top = img?.chain[img.chain.length - 1];
    return top === undefined ? null : this.core.layers.get(top)?.cacheId ?? null;
  }

  async holdLayers(containerId: string, imageId: string): Promise<string | null> {
    const img = this.core.images.get(imageId);
    if (!img) throw new NotFoundError(`No such image: ${imageId}`);
    const top = img.chain[img.chain.length - 1];
    if (top === undefined) return null;
    await this.core.layers.holdMount(containerId, top);
    return this.core.layers.get(top)!.cacheId;
  }

  releaseLayers(containerId: string): Promise<void> {
    return this.core.layers.releaseMount(containerId);
  }

  commit(req: CommitRequest): Promise<{ id: string; ref: string }> {
    return commitImage(this.core, req);
  }

  async dispose(): Promise<void> {
    // Nothing to flush: every change is on disk when its call returns.
  }
}
