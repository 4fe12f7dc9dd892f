import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidParameterError } from '../errors.js';

/**
 * The daemon's PID file, as dockerd's pidfile package: refuse to start when
 * it names a live process, replace it when the process is gone.
 */
export async function createPidFile(path: string): Promise<void> {
  const existing = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (existing > 0 && existing !== process.pid && isAlive(existing)) {
    throw new InvalidParameterError(`pid file found, ensure berthd is not running or delete ${path}`);
  }
  await mkdir(dirname(path), { recursive: true });
  // Runtime state, not data: like dockerd, no fsync (it would only slow the start).
  await writeFile(path, `${process.pid}`);
}

export async function removePidFile(path: string): Promise<void> {
  const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
  if (owner === process.pid) await unlink(path).catch(() => {});
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
