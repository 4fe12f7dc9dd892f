import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * Resolves a path inside a container's root filesystem the way the
 * container would see it: symlinks are followed with the rootfs as `/`, so
 * an absolute link or `..` never leads out of it (moby's symlink.FollowSymlinkInScope).
 */
export async function resolveInRootfs(root: string, path: string): Promise<string> {
  const parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > 255) throw new Error(`too many levels of symbolic links: ${path}`);
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}
