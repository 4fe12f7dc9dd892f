import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

/**
 * Resolves `path` inside `root` the way the container would see it: symlinks
 * (absolute or relative) are followed within the root and `..` never climbs
 * above it (moby's FollowSymlinkInScope). Missing components end the walk;
 * the rest of the path is appended as is.
 */
export async function resolveInRoot(root: string, path: string, maxLinks = 255): Promise<string> {
  const parts = posix.normalize('/' + path).split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') { resolved.pop(); continue; }
    const candidate = posix.join(root, ...resolved, part);
    let st;
    try {
      st = await lstat(candidate);
    } catch {
      resolved.push(part, ...parts);
      break;
    }
    if (st.isSymbolicLink()) {
      if (++links > maxLinks) throw new Error(`too many symlinks in ${path}`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved = [];
      parts.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    resolved.push(part);
  }
  return posix.join(root, ...resolved);
}
