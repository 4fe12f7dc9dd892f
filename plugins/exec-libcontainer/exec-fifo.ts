import { constants, readFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `runc start` without spawning runc. After `runc create`, runc's init
 * process waits in open(2) of `<state dir>/exec.fifo` for writing; `runc
 * start` (libcontainer's exec()) only opens that FIFO for reading, reads
 * what init writes, and removes it — the removal is what makes runc report
 * the container as running. Doing the same here saves a runtime process per
 * start. Like runc, a watchdog checks every 100 ms that init is still
 * alive: if it died, the FIFO is opened for writing once so our blocked
 * open returns, and the start fails as runc's does.
 *
 * Returns false when there is no FIFO (another runtime, or an already
 * started container), so the caller can use the runtime's CLI instead.
 */
export async function startThroughExecFifo(stateDir: string, initPid: number): Promise<boolean> {
  const fifo = join(stateDir, 'exec.fifo');
  let settled = false;
  const watchdog = setInterval(() => {
    if (settled || alive(initPid)) return;
    // Releases our open(O_RDONLY): a writer appears and closes at once, we read nothing.
    void open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then((fh) => fh.close(), () => undefined);
  }, 100);
  try {
    let fh;
    try {
      fh = await open(fifo, constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    try {
      const data = await fh.readFile();
      if (data.length === 0) throw new Error(alive(initPid) ? 'cannot start an already running container' : 'container process is already dead');
    } finally {
      await fh.close();
    }
    await unlink(fifo);
    return true;
  } finally {
    settled = true;
    clearInterval(watchdog);
  }
}

/** Alive and not a zombie (a dead init lingers as a zombie until conmon reaps it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
