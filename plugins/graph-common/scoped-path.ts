import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../../kernel/index.js';

/** Symlinks followed while resolving one path before giving up (Linux uses 40; securejoin 255). */
const MAX_SYMLINKS = 255;

/**
 * Turns a tar entry name into a root-relative path: strips leading `/` and
 * `./`, folds `.` and `..` lexically. Returns null when the name climbs above
 * the root (`../x`, `a/../../x`): dockerd calls that a breakout and refuses
 * the layer. `''` is the root itself.
 */
export function cleanEntryName(name: string): string | null {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}

/** The error dockerd's archive package returns for an entry that would land outside the target. */
export function breakoutError(name: string, root: string): InvalidParameterError {
  return new InvalidParameterError(`${JSON.stringify(name)} is outside of ${JSON.stringify(root)}`);
}

/**
 * Resolves `rel` inside `root` as if `root` were `/` (chroot semantics, like
 * moby's FollowSymlinkInScope): every symlink met on the way is read and
 * followed *within* root, absolute targets restart at root, and `..` stops at
 * root. The final component is followed only with `followFinal`. The result
 * is an absolute path whose directories exist as real directories under root
 * (or do not exist yet), so operating on it can never leave root.
 */
export async function resolveInRoot(root: string, rel: string, followFinal = false): Promise<string> {
  return resolveInRootSync(root, rel, followFinal);
}

/**
 * resolveInRoot without a promise. The tar applier calls it synchronously
 * (see tar-applier.ts for why); a handful of lstat calls never holds the event
 * loop for long. One implementation serves both, so the security-relevant walk
 * exists once.
 */
export function resolveInRootSync(root: string, rel: string, followFinal = false): string {
  const queue = rel.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '..') { done.pop(); continue; }
    if (part === '.') continue;
    const isFinal = queue.length === 0;
    if (missing || (isFinal && !followFinal)) { done.push(part); continue; }
    const candidate = join(root, ...done, part);
    const st = lstatSync(candidate, { throwIfNoEntry: false });
    if (st === undefined) {
      missing = true;
      done.push(part);
      continue;
    }
    if (!st.isSymbolicLink()) { done.push(part); continue; }
    if (++links > MAX_SYMLINKS) throw new InvalidParameterError(`too many levels of symbolic links resolving ${rel}`);
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) done.length = 0;
    queue.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return join(root, ...done);
}

/**
 * Makes sure the directory `relDir` exists inside root, creating missing
 * components with mode 0755 (dockerd's MkdirAll for implied parents), and
 * returns its absolute path. Existing symlinked components are followed in scope.
 * Throws if a component exists but is not a directory.
 */
export async function ensureDirInRoot(root: string, relDir: string): Promise<string> {
  return ensureDirInRootSync(root, relDir);
}

/** ensureDirInRoot without a promise (see resolveInRootSync). */
export function ensureDirInRootSync(root: string, relDir: string): string {
  const abs = resolveInRootSync(root, relDir, true);
  const tail = abs.slice(root.length).split('/').filter(Boolean);
  let cur = root;
  for (const part of tail) {
    cur = join(cur, part);
    try {
      mkdirSync(cur, 0o755);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lstatSync(cur).isDirectory()) throw new InvalidParameterError(`cannot create ${relDir}: ${cur.slice(root.length)} is not a directory`);
    }
  }
  return abs;
}

/**
 * True when no directory between root and `abs` is a symlink. Deferred work
 * (batched mknod, setfattr) re-checks this right before touching a path, in
 * case a later tar entry swapped a directory for a symlink in between.
 */
export async function parentsAreReal(root: string, abs: string): Promise<boolean> {
  return parentsAreRealSync(root, abs);
}

/** parentsAreReal without a promise. */
export function parentsAreRealSync(root: string, abs: string): boolean {
  if (abs !== root && !abs.startsWith(root + '/')) return false;
  const parts = abs.slice(root.length).split('/').filter(Boolean);
  let cur = root;
  for (const part of parts.slice(0, -1)) {
    cur = join(cur, part);
    try {
      if (!lstatSync(cur).isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}
