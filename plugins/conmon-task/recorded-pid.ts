import { readFile } from 'node:fs/promises';

/**
 * SIGKILL to the process whose pid a monitor wrote to `pidFile`, only when
 * its command line still names `mark` (the task's bundle): after a crash the
 * pid may have been reused by an unrelated process, which must be left alone.
 * Returns whether a process was killed.
 */
export async function killRecordedPid(pidFile: string, mark: string): Promise<boolean> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').some((arg) => arg.includes(mark))) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
