import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a small metadata file so that a crash leaves either the old or the
 * new content, never a torn file: write a temp file in the same directory,
 * fsync it, rename it over the target, then fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const sync = opts.sync !== false;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      if (sync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (sync) await syncDir(dirname(path));
}

export interface AtomicWriteOptions {
  /**
   * false: no fsync of the file or its directory. The rename still makes it
   * all-or-nothing for a reader and across a kill -9 of the daemon (the page
   * cache is the kernel's); only a host crash may lose it. For metadata of
   * layers that are thrown away after a host crash anyway (volatile ones).
   */
  sync?: boolean;
}

/**
 * fsyncs files and directories side by side: concurrent fsyncs on one
 * filesystem share its journal commit, where one after the other each waits
 * for its own. A failure is thrown, except EINVAL from a filesystem that
 * cannot fsync the kind of file (some refuse it on directories, as
 * syncDir tolerates).
 */
export async function syncPaths(paths: readonly string[]): Promise<void> {
  const results = await Promise.allSettled(paths.map(async (p) => {
    const fh = await open(p, 'r');
    try {
      await fh.sync().catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EINVAL') throw err; });
    } finally {
      await fh.close();
    }
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
