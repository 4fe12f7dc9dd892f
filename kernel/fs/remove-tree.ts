import type { Dirent } from 'node:fs';
import { readdir, rmdir, unlink } from 'node:fs/promises';

/**
 * `rm -rf path` in fewer file-system calls than `fs.promises.rm(path,
 * { recursive: true, force: true })`, for the directories every container
 * leaves behind (its task bundle, output spool, runtime state, layer, and
 * its directory once removed).
 *
 * Node's rm first lstat()s the path, tries rmdir() on a directory (failing
 * with ENOTEMPTY, an Error built for nothing), reads it, lstat()s every entry
 * to learn its type, removes it, and tries the rmdir again: two wasted calls
 * per directory and one per entry, each a thread-pool round trip. Here a
 * directory is read once with the entry types getdents already gives
 * (d_type; Node lstat()s only entries whose type the file system leaves
 * unknown), entries are unlinked or descended into side by side, then the
 * directory is removed: per entry one call, per directory two.
 *
 * Names are handled as bytes (Buffer paths), so a file whose name is not
 * UTF-8 — a container may write any — is removed like any other. Symbolic
 * links are unlinked, never followed. A path that does not exist (or
 * vanishes meanwhile) is not an error, as with `force`. Every entry is
 * attempted even when one fails; the first failure is then thrown.
 */
export async function removeTree(path: string | Buffer): Promise<void> {
  const dir = typeof path === 'string' ? Buffer.from(path) : path;
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    // A file (or a link) where a directory was expected: removed as rm -rf would.
    if (code === 'ENOTDIR') return unlink(dir).catch(ignoreMissing);
    throw err;
  }
  const results = await Promise.allSettled(entries.map((e) => removeEntry(childPath(dir, e.name), e.isDirectory())));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  await rmdir(dir).catch(ignoreMissing);
}

async function removeEntry(path: Buffer, isDir: boolean): Promise<void> {
  if (isDir) return removeTree(path);
  try {
    await unlink(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    // Replaced by a directory since it was listed (EISDIR; EPERM on some systems): descend.
    if (code === 'EISDIR' || code === 'EPERM') return removeTree(path);
    throw err;
  }
}

function childPath(dir: Buffer, name: Buffer): Buffer {
  const slash = dir.length > 0 && dir[dir.length - 1] === 0x2f;
  return Buffer.concat(slash ? [dir, name] : [dir, SLASH, name]);
}

const SLASH = Buffer.from('/');

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
