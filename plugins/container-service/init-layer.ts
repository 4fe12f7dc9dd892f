import { mkdir, writeFile, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The files dockerd puts in every container's init layer (daemon/initlayer):
 * mount points and placeholders the runtime binds over, so they exist even in
 * images that lack them, and the `/.dockerenv` marker tools look for.
 */
const DIRS = ['dev/pts', 'dev/shm', 'proc', 'sys', 'etc'];
const FILES = ['.dockerenv', 'dev/console', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'];

export async function populateInitLayer(root: string): Promise<void> {
  for (const d of DIRS) {
    if (!(await exists(join(root, d)))) await mkdir(join(root, d), { recursive: true, mode: 0o755 });
  }
  for (const f of FILES) {
    const p = join(root, f);
    if (await exists(p)) continue;
    await mkdir(dirname(p), { recursive: true, mode: 0o755 });
    await writeFile(p, '', { mode: 0o755 });
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}
