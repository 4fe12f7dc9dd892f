import { close, fstat, open, read, watch, type FSWatcher } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { ExitStatus } from '../../kernel/index.js';

/** Reads an exit status conmon wrote, or undefined if it has not (yet). */
export async function readExit(exitFile: string, oomFile?: string): Promise<ExitStatus | undefined> {
  const got = await readStatusFile(exitFile);
  if (!got) return undefined;
  const text = got.text.trim();
  if (text === '') return undefined; // being written
  const code = Number(text);
  const oomKilled = oomFile ? await access(oomFile).then(() => true, () => false) : false;
  return { exitCode: Number.isFinite(code) && code >= 0 ? code : 255, oomKilled, exitedAt: got.mtime };
}

/** An exit status is a few digits: one read of this many bytes holds it whole. */
const STATUS_MAX = 64;

/**
 * The content and mtime of a small status file through one descriptor: open,
 * fstat, one read, close (not waited for) — where readFile plus stat took six
 * thread-pool round trips and a missing file two failures (every container's
 * start and exit looks before conmon has written it). Undefined when it is
 * missing or unreadable.
 */
function readStatusFile(path: string): Promise<{ text: string; mtime: Date } | undefined> {
  return new Promise((resolve) => {
    open(path, 'r', (err, fd) => {
      if (err) return resolve(undefined);
      const done = (v: { text: string; mtime: Date } | undefined) => {
        close(fd, () => undefined);
        resolve(v);
      };
      fstat(fd, (err2, st) => {
        if (err2) return done(undefined);
        const buf = Buffer.allocUnsafe(STATUS_MAX);
        read(fd, buf, 0, STATUS_MAX, 0, (err3, n) => done(err3 ? undefined : { text: buf.toString('utf8', 0, n), mtime: st.mtime }));
      });
    });
  });
}

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Resolves when conmon has written the exit file: an inotify watch on its
 * directory wakes us at once, a poll every `pollMs` covers missed events.
 * If the monitor itself died without writing one (killed, crashed), the
 * process is reported as exited with 255 — the runtime can no longer tell.
 */
export function waitForExit(exitFile: string, opts: { oomFile?: string; monitorPid: number; pollMs?: number; signal?: AbortSignal }): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    let monitorGoneChecks = 0;
    const finish = (v?: ExitStatus, err?: Error) => {
      if (settled) return;
      settled = true;
      watcher?.close();
      clearInterval(timer);
      if (err) reject(err);
      else resolve(v!);
    };
    const check = async () => {
      const got = await readExit(exitFile, opts.oomFile);
      if (got) return finish(got);
      if (!alive(opts.monitorPid) && ++monitorGoneChecks >= 2) {
        // Re-check: conmon may have written the file just before exiting.
        const late = await readExit(exitFile, opts.oomFile);
        finish(late ?? { exitCode: 255, oomKilled: false, exitedAt: new Date() });
      }
    };
    try {
      watcher = watch(dirname(exitFile), (_e, name) => {
        if (!name || name === basename(exitFile)) void check();
      });
      watcher.on('error', () => { /* poll continues */ });
    } catch { /* directory gone: poll decides */ }
    timer = setInterval(() => void check(), opts.pollMs ?? 1000);
    opts.signal?.addEventListener('abort', () => finish(undefined, new Error('wait aborted')), { once: true });
    void check();
  });
}
