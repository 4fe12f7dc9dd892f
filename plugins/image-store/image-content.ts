import type { Readable } from 'node:stream';
import { NotFoundError, dockerEvent, type ImageContent } from '../../kernel/index.js';
import type { ImageCore } from './image-core.js';
import { DiffIdMismatchError } from './layer-store.js';
import { familiarName, familiarString, parseNormalizedNamed, refString, tagNameOnly } from './reference.js';

/**
 * The store's primitives for the registry client. Pulled layers are
 * registered exactly as `docker load` registers them (LayerStore.register
 * with the config's diff ID), so chain IDs, cache layout and image IDs are
 * the ones a load or dockerd's pull produce.
 */
export class StoreContent implements ImageContent {
  constructor(private readonly core: ImageCore) {}

  get tmpDir(): string {
    return this.core.tmpRoot;
  }

  holdLayer(chainId: string): boolean {
    return this.core.layers.acquire(chainId);
  }

  async registerLayer(tar: Readable, parentChain: string | null, diffId: string): Promise<string> {
    try {
      return (await this.core.layers.register(tar, parentChain, diffId)).chainId;
    } catch (err) {
      // dockerd's wording when a blob unpacks to something else than the config promises.
      if (err instanceof DiffIdMismatchError) throw new DiffIdMismatchError(err.expected, err.actual);
      throw err;
    }
  }

  async releaseLayer(chainId: string): Promise<void> {
    await this.core.layers.release(chainId);
  }

  /**
   * pullTag's reference update: the digest reference is added unless it
   * exists (dockerd keeps the old one and only logs), the tag is moved.
   */
  async commitImage(config: Buffer, refs: { tag?: string; digestRef?: string }): Promise<{ id: string; updated: boolean }> {
    return this.core.exclusive(async () => {
      const id = await this.core.createImage(config);
      const primary = refs.tag ?? refs.digestRef;
      const before = primary === undefined ? undefined : this.core.refs.get(parseNormalizedNamed(primary));
      if (refs.digestRef !== undefined) {
        const dref = parseNormalizedNamed(refs.digestRef);
        if (this.core.refs.get(dref) === undefined) await this.core.refs.addDigest(dref, id);
      }
      if (refs.tag !== undefined) await this.core.refs.addTag(parseNormalizedNamed(refs.tag), id, true);
      if (primary !== undefined) {
        // LogImageEvent(ref, ref, "pull"): the event's ID is the familiar reference, labels from the image.
        const name = familiarString(parseNormalizedNamed(primary));
        const labels = this.core.images.get(id)?.config.config?.Labels ?? {};
        this.core.opts.events.emit('docker.event', dockerEvent('image', 'pull', name, { ...labels, name }));
      }
      return { id, updated: before !== id };
    });
  }

  lookupRef(ref: string): string | undefined {
    return this.core.refs.get(parseNormalizedNamed(ref));
  }

  tagsOf(name: string): Array<{ ref: string; id: string }> {
    const repo = parseNormalizedNamed(name);
    return this.core.refs.byName(repo)
      .filter((r) => r.ref.tag !== undefined && r.ref.digest === undefined && familiarName(r.ref) === familiarName(repo))
      .map((r) => ({ ref: refString(tagNameOnly(r.ref)), id: r.id }));
  }

  imageConfig(id: string): Buffer {
    const img = this.core.images.get(id);
    if (!img) throw new NotFoundError(`No such image: ${id}`);
    return img.raw;
  }

  holdImageLayers(id: string): Array<{ chainId: string; diffId: string }> {
    const img = this.core.images.get(id);
    if (!img) throw new NotFoundError(`No such image: ${id}`);
    const out: Array<{ chainId: string; diffId: string }> = [];
    for (const chainId of img.chain) {
      if (!this.core.layers.acquire(chainId)) {
        for (const h of out) void this.core.layers.release(h.chainId);
        throw new NotFoundError(`layer ${chainId} does not exist`);
      }
      out.push({ chainId, diffId: this.core.layers.get(chainId)!.diffId });
    }
    return out;
  }

  layerTar(chainId: string): Promise<{ stream: Readable; size: number }> {
    return this.core.layers.tarStream(chainId);
  }
}
