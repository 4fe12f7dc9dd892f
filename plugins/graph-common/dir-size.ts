import { walkTree } from './tree-walk.js';

/**
 * Bytes used by the files under root: the sum of non-directory sizes, each
 * hardlinked inode counted once (moby's directory.Size, used by overlay2's
 * native DiffSize).
 */
export async function dirSize(root: string): Promise<number> {
  const seen = new Set<string>();
  let size = 0;
  for await (const e of walkTree(root)) {
    if (e.st.isDirectory()) continue;
    if (e.st.nlink > 1) {
      const key = `${e.st.dev}:${e.st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    size += e.st.size;
  }
  return size;
}
