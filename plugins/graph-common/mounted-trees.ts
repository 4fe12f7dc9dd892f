import type { Readable } from 'node:stream';
import type { Logger } from '../../kernel/index.js';
import { applyLayerTar } from './tar-applier.js';

/** A driver whose layers must be mounted (get) to be read and released (put) after. */
export interface MountedLayers {
  get(id: string): Promise<string>;
  put(id: string): Promise<void>;
}

/**
 * Runs fn on the mounted trees of id and parent (null parent: no old tree),
 * releasing both after. With `stream`, fn returns a Readable that keeps the
 * mounts until it closes (a diff is read long after fn returns); a release
 * that fails then is only logged, as nobody waits for it.
 */
export async function withMountedTrees<T>(
  layers: MountedLayers,
  log: Logger,
  id: string,
  parent: string | null,
  stream: boolean,
  fn: (newDir: string, oldDir: string | null) => Promise<T>,
): Promise<T> {
  const newDir = await layers.get(id);
  let oldDir: string | null = null;
  const release = async () => {
    await layers.put(id);
    if (parent !== null && oldDir !== null) await layers.put(parent);
  };
  try {
    if (parent !== null) oldDir = await layers.get(parent);
    const result = await fn(newDir, oldDir);
    if (stream) {
      (result as Readable).once('close', () => { release().catch((err: unknown) => log.warn('failed to release layers after diff', { error: err })); });
      return result;
    }
    await release();
    return result;
  } catch (err) {
    await release();
    throw err;
  }
}

/** Unpacks a layer tar through the layer's mount: deletions become whatever the filesystem makes of them. */
export async function applyThroughMount(layers: MountedLayers, log: Logger, id: string, diff: Readable): Promise<number> {
  const path = await layers.get(id);
  try {
    return await applyLayerTar(path, diff, { whiteouts: 'remove', log });
  } finally {
    await layers.put(id);
  }
}
