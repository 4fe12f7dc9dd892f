import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseCriLine, splitLines } from './cri-log.js';

/**
 * Copies a process's output from its CRI spool file to Node streams, from a
 * byte offset, following the file as conmon appends (inotify through
 * fs.watch, plus a slow poll as a safety net). Backpressure from a slow
 * writer pauses reading; conmon keeps writing the file meanwhile, so a slow
 * reader never blocks the container. When the process has exited (`finish`),
 * the rest of the file is copied and the streams are ended: conmon drains the
 * process's pipes into the file before it writes the exit status.
 */
export class OutputFollower {
  private offset: number;
  private carry: Buffer = Buffer.alloc(0);
  private watcher?: FSWatcher;
  private woken = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private finishing = false;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    private readonly path: string,
    from: number,
    private readonly sinks: { stdout?: Writable; stderr?: Writable; terminal: boolean },
  ) {
    this.offset = from;
    this.done = this.loop();
  }

  /** Copy what is left, end the streams, stop. */
  finish(): void {
    this.finishing = true;
    this.signal();
  }

  /** Stop without ending the streams (detach). */
  stop(): void {
    this.stopped = true;
    this.signal();
  }

  /** Wakes the loop, or has it drain again when it is busy draining (a change then would wait for the poll). */
  private signal(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  private async loop(): Promise<void> {
    try {
      this.watcher = watch(this.path, () => this.signal());
      this.watcher.on('error', () => { /* the poll below still runs */ });
    } catch { /* file not there yet: poll */ }
    this.timer = setInterval(() => this.signal(), 500);
    try {
      while (!this.stopped) {
        const finishing = this.finishing;
        this.woken = false;
        await this.drain();
        if (finishing || this.stopped) break;
        if (this.woken) continue;
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = undefined;
      }
      if (!this.stopped) {
        this.sinks.stdout?.end();
        if (this.sinks.stderr !== this.sinks.stdout) this.sinks.stderr?.end();
      }
    } finally {
      this.watcher?.close();
      clearInterval(this.timer);
    }
  }

  /** Reads from the offset to the current end of the file. */
  private async drain(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size < this.offset) this.offset = 0; // the spool was reopened (rotated)
    if (size === this.offset) return;
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      while (!this.stopped) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const { lines, rest } = splitLines(this.carry, buf.subarray(0, bytesRead));
        this.carry = rest;
        for (const line of lines) {
          const rec = parseCriLine(line);
          if (!rec) continue;
          const sink = rec.stream === 'stderr' && !this.sinks.terminal ? this.sinks.stderr : this.sinks.stdout;
          if (sink && !sink.destroyed && !sink.write(rec.data)) await Promise.race([once(sink, 'drain'), once(sink, 'close')]);
        }
      }
    } finally {
      await fh.close();
    }
  }
}
