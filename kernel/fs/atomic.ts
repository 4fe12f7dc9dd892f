import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that a crash (even `kill -9`) leaves either the old or the
 * new content, never a torn one: write a temp file in the same directory,
 * fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await replaceFileSynced(path, data, mode);
  // The rename itself made durable: a new name must survive a host crash too.
  const dh = await open(dirname(path), 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Replaces an existing file atomically with its new content synced before
 * the rename, but without the directory's fsync: dockerd's AtomicWriteFile
 * (moby pkg/ioutils), which it uses for every checkpoint of a container.
 * A crash (kill -9 or host) leaves the old or the new content, never a torn
 * one; only a host crash in the few seconds before the filesystem commits
 * the rename (ext4: at the next journal commit, which any fsync on it
 * forces) can bring back the old content. For a file whose name is already
 * durable (a state change of a record written with writeFileAtomic), where
 * the directory's fsync would be a second journal commit on the reply's path.
 */
export async function replaceFileSynced(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Renames a new file into place without fsync: a reader sees the old or the
 * new content, and a `kill -9` of the daemon loses nothing (the page cache is
 * the kernel's); only a power loss can. For files rebuilt from the state of
 * record on every use (a container's /etc/hosts, hostname, resolv.conf), where
 * two fsyncs per file cost more than they protect.
 */
export async function replaceFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, data, { mode });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
