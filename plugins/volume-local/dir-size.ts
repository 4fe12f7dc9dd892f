import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes used by the files under `dir`, as dockerd's directory.Size: the sizes
 * of everything but directories, each hard-linked inode counted once, without
 * following symlinks or leaving the tree.
 */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = await lstat(p, { bigint: true }).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (st.size === 0n || seen.has(key)) continue;
      seen.add(key);
      total += Number(st.size);
    }
  };
  await walk(dir);
  return total;
}
