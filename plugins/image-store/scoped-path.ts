import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../../kernel/index.js';

/** Symlinks followed while resolving one path before giving up (as moby's FollowSymlinkInScope). */
const MAX_LINKS = 255;

/**
 * Folds a tar entry name into a root-relative path: leading `/` and `./`
 * dropped, `.` and `..` folded lexically. Null when it climbs above the
 * root (`../x`), which is a breakout.
 */
export function cleanRelative(name: string): string | null {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

/**
 * Resolves the directory part of `rel` inside `root` as if root were `/`:
 * symlinks met on the way are followed within root (absolute targets restart
 * at root, `..` stops at root); the final component is not followed. Used to
 * read back files of an unpacked layer exactly where the applier put them,
 * never outside it.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string> {
  const queue = rel.split('/').filter((p) => p !== '' && p !== '.');
  const last = queue.pop();
  if (last === undefined) return root;
  const done: string[] = [];
  let links = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') { done.pop(); continue; }
    if (part === '.') continue;
    const candidate = join(root, ...done, part);
    const st = await lstat(candidate).catch(() => null);
    if (!st?.isSymbolicLink()) { done.push(part); continue; }
    if (++links > MAX_LINKS) throw new InvalidParameterError(`too many levels of symbolic links resolving ${rel}`);
    const target = await readlink(candidate);
    if (target.startsWith('/')) done.length = 0;
    queue.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  if (last === '..') done.pop();
  return last === '..' ? join(root, ...done) : join(root, ...done, last);
}
