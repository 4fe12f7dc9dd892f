import type { Logger } from '../../kernel/index.js';
import type { CoreImage, ImageCore } from './image-core.js';
import { familiarString } from './reference.js';

/** What a migration did, for the command's output and the start-up log. */
export interface MigrationReport {
  from: string;
  to: string;
  /** Images copied now. */
  migrated: string[];
  /** Images the target already had (an earlier, maybe interrupted, run). */
  present: string[];
  failed: Array<{ id: string; error: string }>;
  tagsAdded: number;
  /** References the target already points at another image; left as they are. */
  conflicts: string[];
}

/**
 * Copies every image of `src` (one driver's store) into `dst` (another's):
 * each layer's original tar, reassembled from the old driver by tar-split,
 * is unpacked through the new driver and must hash to the same diff ID, so
 * chain IDs, image IDs (the config bytes are copied as they are) and tags
 * stay the same.
 *
 * Crash safety comes from the target's own write order (layer registration
 * renamed into place, then the image config, then references): a run
 * stopped anywhere leaves the source untouched and the target consistent —
 * layers no image holds yet are collected at its next open — and running
 * again copies only the images still missing.
 */
export async function migrateStore(src: ImageCore, dst: ImageCore, log: Logger, progress: (line: string) => void = () => {}): Promise<MigrationReport> {
  const report: MigrationReport = { from: src.driverName, to: dst.driverName, migrated: [], present: [], failed: [], tagsAdded: 0, conflicts: [] };
  const images = [...src.images.values()].sort((a, b) => a.id.localeCompare(b.id));
  for (const img of images) {
    const name = src.references(img.id).map(familiarString)[0] ?? img.id;
    if (dst.images.has(img.id)) {
      report.present.push(img.id);
    } else {
      try {
        progress(`Migrating ${name} (${img.id}) from ${src.driverName} to ${dst.driverName}: ${img.chain.length} layer(s)`);
        await copyImage(src, dst, img);
        report.migrated.push(img.id);
      } catch (err) {
        log.error('image migration failed', { id: img.id, from: src.driverName, to: dst.driverName, error: err });
        report.failed.push({ id: img.id, error: (err as Error).message ?? String(err) });
        continue;
      }
    }
    await dst.exclusive(async () => {
      if (img.lastUpdated && !dst.images.get(img.id)?.lastUpdated) await dst.touch(img.id, img.lastUpdated);
      for (const ref of src.references(img.id)) {
        const have = dst.refs.get(ref);
        if (have === img.id) continue;
        if (have !== undefined) { report.conflicts.push(`${familiarString(ref)} (kept on ${have})`); continue; }
        if (ref.digest !== undefined) await dst.refs.addDigest(ref, img.id);
        else await dst.refs.addTag(ref, img.id, false);
        report.tagsAdded++;
      }
    });
  }
  // Parent links last: both ends must exist in the target.
  for (const img of images) {
    const copy = dst.images.get(img.id);
    if (copy && img.parent && !copy.parent && dst.images.has(img.parent)) await dst.exclusive(() => dst.setParent(img.id, img.parent!));
  }
  return report;
}

/** Layers bottom up (each either already in the target or streamed across), then the config. */
async function copyImage(src: ImageCore, dst: ImageCore, img: CoreImage): Promise<void> {
  const held: string[] = [];
  try {
    let parent: string | null = null;
    for (const chainId of img.chain) {
      if (dst.layers.acquire(chainId)) { held.push(chainId); parent = chainId; continue; }
      const layer = src.layers.get(chainId);
      if (!layer || !src.layers.acquire(chainId)) throw new Error(`layer ${chainId} is missing from the ${src.driverName} store`);
      try {
        const { stream } = await src.layers.tarStream(chainId);
        const copied = await dst.layers.register(stream, parent, layer.diffId);
        held.push(copied.chainId);
        parent = copied.chainId;
      } finally {
        await src.layers.release(chainId);
      }
    }
    await dst.exclusive(() => dst.createImage(img.raw));
  } finally {
    for (const chainId of held.reverse()) await dst.layers.release(chainId);
  }
}
