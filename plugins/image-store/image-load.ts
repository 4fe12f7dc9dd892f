import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { InvalidParameterError, type ImageConfig, type LoadOutput } from '../../kernel/index.js';
import { prewarmLayerWorkers, SMALL_LAYER_BYTES } from '../graph-common/tar-apply-thread.js';
import { ExtractedArchive } from './archive-extract.js';
import { decompressStream } from './decompress.js';
import { chainIds, shortId } from './digest.js';
import type { ImageCore } from './image-core.js';
import { diffIdsOf, parseImageConfig } from './image-config.js';
import { rfc3339ToNs } from './go-format.js';
import { DiffIdMismatchError, type ChainLayer } from './layer-store.js';
import { readLoadManifest, verifyBlob } from './load-manifest.js';
import { familiarString, parseNormalizedNamed } from './reference.js';

/** How often (bytes) `Loading layer` progress is reported, as dockerd's progress reader. */
const PROGRESS_EVERY = 512 * 1024;
/** Bytes per read of a layer file from the unpacked archive. */
const LAYER_READ_CHUNK = 512 * 1024;

/**
 * tarexport.Load: unpack the archive into a private temp dir, then for each
 * image register the layers it does not have yet (each checked against the
 * config's diff IDs), store the config bytes unchanged, and set its tags.
 * Layers are held while an image is assembled, so a concurrent `rmi` of
 * another image sharing them cannot pull them away. The temp dir is removed
 * in any case, and at the next start if the daemon dies meanwhile.
 */
export async function loadImages(core: ImageCore, input: Readable, opts: { quiet: boolean; out: LoadOutput }): Promise<void> {
  const dir = await mkdtemp(join(core.tmpRoot, 'load-'));
  try {
    // Layer workers boot once a file of the archive is big enough to need one (its size is in its tar header,
    // before its bytes): they boot while the rest is received. A small archive (busybox) boots none: its
    // layers are unpacked on the main thread, cheaper than a worker's boot (applyLayerTarOffThread).
    const archive = await ExtractedArchive.extract(await decompressStream(input), dir, (size) => {
      if (size >= SMALL_LAYER_BYTES) prewarmLayerWorkers(2);
    });
    const items = await readLoadManifest(archive);
    const links: Array<{ id: string; parent?: string }> = [];
    let idsText = '';
    let tagged = 0;
    for (const item of items) {
      const config = parseImageConfig(item.config);
      if (config.os && config.os !== 'linux') throw new InvalidParameterError(`cannot load ${config.os} image on linux`);
      const diffs = diffIdsOf(config);
      if (item.layers.length !== diffs.length) {
        throw new InvalidParameterError(`invalid manifest, layers length mismatch: expected ${item.layers.length}, got ${diffs.length}`);
      }
      const chain = chainIds(diffs);
      const held: string[] = [];
      try {
        // The layers the store has (a prefix of the chain: a layer's parents are always registered) are held;
        // the rest are registered together, unpacked at once where the driver allows it.
        let have = 0;
        while (have < diffs.length && core.layers.acquire(chain[have]!)) held.push(chain[have++]!);
        const missing = item.layers.slice(have).map(({ path, blobDigest }, k): ChainLayer => ({
          diffId: diffs[have + k]!,
          open: async () => {
            if (blobDigest) await verifyBlob(path, blobDigest);
            // Large reads: the layer is unpacked chunk by chunk, and fewer, bigger chunks cost less per byte.
            let raw: Readable = createReadStream(path, { highWaterMark: LAYER_READ_CHUNK });
            if (!opts.quiet) {
              const meter = progressMeter((await stat(path)).size, shortId(diffs[have + k]!), opts.out);
              raw.on('error', (err) => meter.destroy(err));
              raw = raw.pipe(meter);
            }
            return decompressStream(raw);
          },
        }));
        if (missing.length > 0) {
          try {
            const recs = await core.layers.registerChain(have === 0 ? null : chain[have - 1]!, missing);
            for (const rec of recs) held.push(rec.chainId);
          } catch (err) {
            if (err instanceof DiffIdMismatchError) {
              throw new InvalidParameterError(`invalid diffID for layer ${have + (err.index ?? 0)}: expected "${err.expected}", got "${err.actual}"`);
            }
            throw err;
          }
        }
        const id = await core.exclusive(async () => {
          const id = await core.createImage(item.config);
          idsText += `Loaded image ID: ${id}\n`;
          tagged = 0;
          for (const name of item.repoTags) {
            const ref = parseNormalizedNamed(name);
            if (ref.tag === undefined || ref.digest !== undefined) throw new InvalidParameterError(`invalid tag "${name}"`);
            const prev = core.refs.get(ref);
            if (prev !== undefined && prev !== id) {
              opts.out.line(`The image ${familiarString(ref)} already exists, renaming the old one with ID ${prev} to empty string\n`);
            }
            await core.refs.addTag(ref, id, true);
            opts.out.line(`Loaded image: ${familiarString(ref)}\n`);
            tagged++;
          }
          return id;
        });
        links.push({ id, parent: item.parent });
        core.emit('load', id, id);
      } finally {
        for (const chainId of held) await core.layers.release(chainId);
      }
    }
    await setParents(core, links);
    // dockerd prints the IDs only when the last image had no tags (quirk kept).
    if (tagged === 0 && idsText) opts.out.line(idsText);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parent links are kept only between images of the same archive whose histories fit (validatedParentLinks). */
async function setParents(core: ImageCore, links: Array<{ id: string; parent?: string }>): Promise<void> {
  for (const { id, parent } of links) {
    if (!parent || parent === id || !links.some((l) => l.id === parent)) continue;
    const img = core.images.get(id);
    const par = core.images.get(parent);
    if (!img || !par) continue;
    if (!validParent(img.config, par.config)) throw new InvalidParameterError(`image ${parent} is not a valid parent for ${id}`);
    await core.exclusive(() => core.setParent(id, parent));
  }
}

/** checkValidParent: the child's history is the parent's plus one entry. */
function validParent(img: ImageConfig, parent: ImageConfig): boolean {
  const hc = img.history ?? [];
  const hp = parent.history ?? [];
  if (hc.length === 0 && hp.length === 0) return true;
  if (hc.length - hp.length !== 1) return false;
  return hp.every((p, i) => {
    const c = hc[i]!;
    if (rfc3339ToNs(p.created) !== rfc3339ToNs(c.created)) return false;
    return isDeepStrictEqual({ ...p, created: undefined }, { ...c, created: undefined });
  });
}

/** Counts bytes through and reports `Loading layer` progress. */
function progressMeter(total: number, id: string, out: LoadOutput): Transform {
  let current = 0;
  let last = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      current += chunk.length;
      if (current - last > PROGRESS_EVERY || current === total) {
        last = current;
        out.progress(id, current, total);
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (last !== current) out.progress(id, current, total);
      cb();
    },
  });
}
