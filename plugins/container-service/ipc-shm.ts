import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SystemError } from '../../kernel/index.js';

/** dockerd's default /dev/shm size (64 MiB). */
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * The /dev/shm of an IPC-`shareable` container, as dockerd's setupIpcDirs
 * makes it: a tmpfs mounted on the host at `<container dir>/mounts/shm` and
 * bound into the container, so that `--ipc container:<id>` joiners can bind
 * the same one (a mount inside another container's mount namespace cannot
 * be bound from outside it). It stays mounted until the container is removed.
 */
export function shmPath(containerDir: string): string {
  return join(containerDir, 'mounts', 'shm');
}

/** The shm path of another container, which lives beside this one. */
export function peerShmPath(containerDir: string, peerId: string): string {
  return shmPath(join(dirname(containerDir), peerId));
}

/** Mounts the tmpfs unless it is mounted already (a restart of the container, or of berthd). */
export async function ensureShm(containerDir: string, size: number | undefined): Promise<string> {
  const path = shmPath(containerDir);
  if (await isMountPoint(path)) return path;
  await mkdir(path, { recursive: true, mode: 0o700 });
  const bytes = size && size > 0 ? size : DEFAULT_SHM_SIZE;
  await run('mount', ['-t', 'tmpfs', '-o', `mode=1777,size=${bytes},nosuid,nodev,noexec`, 'shm', path]).catch((err: unknown) => {
    throw new SystemError(`mounting shm tmpfs: ${(err as Error).message}`);
  });
  return path;
}

/** Unmounts the tmpfs if there is one (removal). */
export async function releaseShm(containerDir: string): Promise<void> {
  const path = shmPath(containerDir);
  // Only `shareable` containers have one: the mount table is read only when its directory exists.
  if (!(await lstat(path).then(() => true, () => false))) return;
  if (!(await isMountPoint(path))) return;
  await run('umount', [path]).catch(() => run('umount', ['-l', path]));
}

async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === path);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, _stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()));
  });
}
