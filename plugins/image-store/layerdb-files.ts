import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../kernel/index.js';
import { isDigest } from './digest.js';

/**
 * The files of one layerdb registration (`layerdb/sha256/<chain hex>/`),
 * as dockerd writes them: `diff`, `size`, `cache-id` and, for a layer with
 * a parent, `parent` — plain values without a newline. Written with fsync,
 * into a directory that is renamed into place only once complete.
 */
export interface Registration {
  diffId: string;
  size: number;
  cacheId: string;
  parent: string | null;
}

export async function writeRegistration(dir: string, r: Registration): Promise<void> {
  // The files side by side (their fsyncs join one journal commit); the dir is private until renamed into
  // place, so their order does not matter, only that all are synced before the dir is.
  const files: Array<[string, string]> = [['diff', r.diffId], ['size', String(r.size)], ['cache-id', r.cacheId]];
  if (r.parent !== null) files.push(['parent', r.parent]);
  const written = await Promise.allSettled(files.map(([name, data]) => writeSynced(join(dir, name), data)));
  const failed = written.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) throw failed.reason;
  await syncDir(dir);
}

/** Every readable registration under `sha256Dir`, by chain ID; malformed ones are logged and skipped. */
export async function readRegistrations(sha256Dir: string, log: Logger): Promise<Map<string, Registration>> {
  const out = new Map<string, Registration>();
  for (const name of await readdir(sha256Dir)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const dir = join(sha256Dir, name);
    try {
      const diffId = (await readFile(join(dir, 'diff'), 'utf8')).trim();
      const size = Number((await readFile(join(dir, 'size'), 'utf8')).trim());
      const cacheId = (await readFile(join(dir, 'cache-id'), 'utf8')).trim();
      const parent = (await readFile(join(dir, 'parent'), 'utf8').catch(() => '')).trim() || null;
      if (!isDigest(diffId) || !Number.isFinite(size) || !/^[A-Za-z0-9_.-]+$/.test(cacheId) || (parent !== null && !isDigest(parent))) {
        throw new Error('malformed metadata');
      }
      out.set(`sha256:${name}`, { diffId, size, cacheId, parent });
    } catch (err) {
      log.error('ignoring invalid layer', { chainID: `sha256:${name}`, error: err });
    }
  }
  return out;
}

async function writeSynced(path: string, data: string): Promise<void> {
  const fh = await open(path, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory, so a rename into it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
