import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '../../kernel/index.js';

/**
 * Named pipes for the stdio of processes berthd starts itself (exec without
 * a terminal, runtime-exec.ts). A container process's stdio must be a pipe,
 * as containerd gives it: `echo x > /dev/stdout` opens /proc/self/fd/1, which
 * fails with ENXIO on the socketpair Node's `spawn` would make. Node has no
 * pipe(2) or mkfifo(3), so FIFOs are made by `mkfifo`, one spawn for a batch,
 * the next batch made ahead while this one is used. Each FIFO is handed out
 * once: opened on both sides and unlinked at once, it is then an ordinary
 * pipe that no one else can open, and never reused (a background process of
 * an earlier exec could still hold a reused one).
 */
export class FifoPool {
  private readonly ready: string[] = [];
  private filling?: Promise<void>;
  private cleared = false;

  constructor(private readonly dir: string, private readonly mkfifoPath: string, private readonly batch = 16) {}

  /** `n` fresh FIFO paths. */
  async take(n: number): Promise<string[]> {
    while (this.ready.length < n) await this.fill();
    const got = this.ready.splice(0, n);
    if (this.ready.length < this.batch / 2) this.fill().catch(() => undefined);
    return got;
  }

  private fill(): Promise<void> {
    this.filling ??= (async () => {
      if (!this.cleared) {
        // FIFOs a previous daemon made and never used.
        await rm(this.dir, { recursive: true, force: true });
        this.cleared = true;
      }
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const names = Array.from({ length: this.batch }, () => join(this.dir, randomBytes(8).toString('hex')));
      await runMkfifo(this.mkfifoPath, names);
      this.ready.push(...names);
    })().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }
}

function runMkfifo(path: string, names: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, ['-m', '0600', ...names], { stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new SystemError(`mkfifo: ${e.message}`, { cause: e })));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new SystemError(`mkfifo: ${Buffer.concat(err).toString('utf8').trim() || `exit status ${code}`}`))));
  });
}

/** The two ends of one pipe: `ours` for berthd (non-blocking, for a net.Socket), `theirs` for the child (blocking, as a pipe from pipe(2) is). */
export interface PipeEnds {
  ours: number;
  theirs: number;
}

/**
 * Opens a fresh FIFO as a pipe the child writes (`output`) or reads
 * (`input`), then unlinks it. Never blocks: an end is opened in blocking mode
 * only while the other end is already open. Node opens with O_CLOEXEC, so an
 * end reaches only the child it is given to as stdio.
 */
export function openPipe(path: string, direction: 'output' | 'input'): PipeEnds {
  const { O_RDONLY, O_WRONLY, O_NONBLOCK } = constants;
  const fds: number[] = [];
  try {
    if (direction === 'output') {
      fds.push(openSync(path, O_RDONLY | O_NONBLOCK));
      fds.push(openSync(path, O_WRONLY));
      return { ours: fds[0]!, theirs: fds[1]! };
    }
    // A writer cannot open a FIFO without a reader: a short-lived one stands in.
    const standIn = openSync(path, O_RDONLY | O_NONBLOCK);
    fds.push(standIn);
    fds.push(openSync(path, O_WRONLY | O_NONBLOCK));
    fds.push(openSync(path, O_RDONLY));
    closeSync(standIn);
    return { ours: fds[1]!, theirs: fds[2]! };
  } catch (err) {
    for (const fd of fds) try { closeSync(fd); } catch { /* already closed */ }
    throw new SystemError(`cannot open a pipe for the process: ${(err as Error).message}`, { cause: err });
  } finally {
    try { unlinkSync(path); } catch { /* gone */ }
  }
}
