import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InvalidParameterError, NotFoundError, dockerEvent, type EventBus, type GraphDriver, type ImageConfig, type ImageInfo, type Logger,
} from '../../kernel/index.js';
import { chainIds, hexOf } from './digest.js';
import { ImageDb } from './image-db.js';
import { diffIdsOf, parseImageConfig } from './image-config.js';
import { LayerStore, type LayerRecord } from './layer-store.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { ReferenceStore } from './reference-store.js';
import { familiarString, isNamed, parseAnyReference, tagNameOnly, type Reference } from './reference.js';

/** One image in memory: its exact config bytes, parsed config and layer chain. */
export interface CoreImage {
  id: string;
  raw: Buffer;
  config: ImageConfig;
  /** Chain IDs of its layers, bottom first. */
  chain: string[];
  parent: string | null;
  lastUpdated: string | null;
}

/** A container as image deletion cares about it. */
export interface ContainerUse {
  id: string;
  /** Image ID it was created from. */
  image: string;
  running: boolean;
}

export interface CoreOptions {
  /** `<data-root>/image/<driver name>`. */
  root: string;
  driver: () => GraphDriver;
  driverName: string;
  events: EventBus;
  log: Logger;
  /** The containers that exist (none until a container service is active). */
  containers?: () => Promise<ContainerUse[]>;
  /** Asks the container service to drop what it keeps of an image as a cache, by the image's top driver layer. */
  evictCaches?: (topLayer: string) => Promise<void>;
}

/**
 * The image store's state and primitives, shared by the operations in the
 * image-*.ts files: the image db, the layer store and the reference store,
 * with the in-memory index dockerd keeps (images, parents, children).
 *
 * Mutations of images and references run under one lock (`exclusive`);
 * unpacking layers does not need it and runs outside, so a long load does
 * not block `docker images` or a tag.
 */
export class ImageCore {
  readonly images = new Map<string, CoreImage>();
  private readonly lock = new KeyedMutex();

  private constructor(
    readonly opts: CoreOptions,
    readonly db: ImageDb,
    readonly layers: LayerStore,
    readonly refs: ReferenceStore,
  ) {}

  /**
   * Opens the store: layers, then images (each takes a reference on its top
   * layer), then removes what a crash left behind (unreferenced layers,
   * half-written registrations, temp dirs).
   */
  static async open(opts: CoreOptions): Promise<ImageCore> {
    await mkdir(opts.root, { recursive: true, mode: 0o700 });
    // Three independent stores: opened side by side (this is on the cold-start path).
    const [layers, db, refs] = await Promise.all([
      LayerStore.open(join(opts.root, 'layerdb'), opts.driver, opts.log),
      ImageDb.open(join(opts.root, 'imagedb'), opts.log),
      ReferenceStore.open(join(opts.root, 'repositories.json'), opts.log),
    ]);
    const core = new ImageCore(opts, db, layers, refs);
    for (const img of await db.loadAll()) {
      const chain = chainIds(diffIdsOf(img.config));
      const top = chain[chain.length - 1];
      if (top !== undefined && !layers.acquire(top)) {
        opts.log.error('not restoring image: its layers are missing', { id: img.id, chainID: top });
        continue;
      }
      core.images.set(img.id, {
        ...img, chain,
        parent: await db.getMetadata(img.id, 'parent'),
        lastUpdated: await db.getMetadata(img.id, 'lastUpdated'),
      });
    }
    await layers.collectGarbage();
    await rm(core.tmpRoot, { recursive: true, force: true });
    await mkdir(core.tmpRoot, { recursive: true, mode: 0o700 });
    return core;
  }

  get driverName(): string {
    return this.opts.driverName;
  }

  /** Scratch space for loads and saves, emptied at every start. */
  get tmpRoot(): string {
    return join(this.opts.root, 'tmp');
  }

  /** Runs `fn` holding the image/reference lock. Not re-entrant. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('images', fn);
  }

  /**
   * dockerd's GetImage: a full ID or `sha256:` digest, then a reference
   * (bare names mean `:latest`), then a unique ID prefix. Unknown →
   * `No such image: <familiar ref>`; malformed → 400.
   */
  resolve(refOrId: string): CoreImage {
    const ref = parseAnyReference(refOrId);
    if (!isNamed(ref)) {
      const img = this.images.get(ref.id);
      if (!img) throw new NotFoundError(`No such image: ${ref.id}`);
      return img;
    }
    const id = this.refs.get(ref);
    const byRef = id === undefined ? undefined : this.images.get(id);
    if (byRef) return byRef;
    const found = this.search(refOrId);
    if (found) return this.images.get(found)!;
    throw new NotFoundError(`No such image: ${familiarString(tagNameOnly(ref))}`);
  }

  /** digestset.Lookup: a unique hex prefix, optionally with `sha256:`. */
  search(term: string): string | undefined {
    const hex = term.startsWith('sha256:') ? term.slice(7) : term;
    if (hex === '' || !/^[a-f0-9]+$/.test(hex)) return undefined;
    let match: string | undefined;
    for (const id of this.images.keys()) {
      if (!hexOf(id).startsWith(hex)) continue;
      if (match !== undefined) return undefined; // ambiguous
      match = id;
    }
    return match;
  }

  children(id: string): string[] {
    const out: string[] = [];
    for (const img of this.images.values()) if (img.parent === id) out.push(img.id);
    return out;
  }

  references(id: string): Reference[] {
    return this.refs.references(id);
  }

  /**
   * Stores a config whose layers the caller holds (image store Create):
   * the image then holds its top layer itself. Runs under `exclusive`.
   */
  async createImage(raw: Buffer): Promise<string> {
    const config = parseImageConfig(raw);
    const chain = chainIds(diffIdsOf(config));
    const top = chain[chain.length - 1];
    const id = await this.db.create(raw);
    if (this.images.has(id)) return id;
    if (top !== undefined && !this.layers.acquire(top)) {
      throw new InvalidParameterError(`failed to get layer ${top}: layer does not exist`);
    }
    this.images.set(id, { id, raw, config, chain, parent: null, lastUpdated: null });
    return id;
  }

  /** Removes an image's config and metadata and releases its top layer; returns the layers removed. */
  async deleteImage(id: string): Promise<LayerRecord[]> {
    const img = this.images.get(id);
    if (!img) throw new NotFoundError(`unrecognized image ID ${id}`);
    for (const child of this.children(id)) {
      this.images.get(child)!.parent = null;
      await this.db.deleteMetadata(child, 'parent');
    }
    this.images.delete(id);
    await this.db.delete(id);
    const top = img.chain[img.chain.length - 1];
    return top === undefined ? [] : this.layers.release(top);
  }

  async setParent(id: string, parent: string): Promise<void> {
    await this.db.setMetadata(id, 'parent', parent);
    this.images.get(id)!.parent = parent;
  }

  async touch(id: string, time: string): Promise<void> {
    await this.db.setMetadata(id, 'lastUpdated', time);
    const img = this.images.get(id);
    if (img) img.lastUpdated = time;
  }

  /** LogImageEvent: the image's labels plus `name`; no labels once the image is gone. */
  emit(action: string, id: string, name?: string): void {
    const attrs: Record<string, string> = { ...(this.images.get(id)?.config.config?.Labels ?? {}) };
    if (name) attrs.name = name;
    this.opts.events.emit('docker.event', dockerEvent('image', action, id, attrs));
  }

  /** The facts the API shows about an image. */
  info(img: CoreImage): ImageInfo {
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const ref of this.references(img.id)) (ref.digest !== undefined ? repoDigests : repoTags).push(familiarString(ref));
    const layers = img.chain.map((chainId) => {
      const l = this.layers.get(chainId);
      return { chainId, diffId: l?.diffId ?? '', size: l?.size ?? 0 };
    });
    return {
      id: img.id,
      config: img.config,
      repoTags,
      repoDigests,
      parent: img.parent ?? '',
      children: this.children(img.id).length,
      size: layers.reduce((n, l) => n + l.size, 0),
      layers,
      lastTagTime: img.lastUpdated,
    };
  }
}
