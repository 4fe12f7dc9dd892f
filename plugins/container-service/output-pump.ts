import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ContainerLogger } from '../../kernel/index.js';
import { parseCriLine, splitLines } from './cri-line.js';

/** An attached client's output side. `end` is called when the container's output ends (it stopped). */
export interface OutputSubscriber {
  stdout?: Writable;
  stderr?: Writable;
  end(): void;
}

/**
 * The one reader of a running container's output spool: every line goes to
 * the container's log driver and to each attached client. It follows the
 * file as the monitor appends (inotify, with a slow poll as a safety net)
 * from a byte offset that the service persists, so after a daemon restart
 * it resumes where it stopped and output made meanwhile is still logged.
 * Backpressure from a client pauses the reading; the monitor keeps writing
 * the file, so the container never blocks on us.
 */
export class OutputPump {
  private carry: Buffer = Buffer.alloc(0);
  /** Each subscriber with the signal its removal fires: a write waiting on that client gives up then. */
  private readonly subscribers = new Map<OutputSubscriber, AbortController>();
  /** Fired by stop(): no write waits on a client any more. */
  private readonly halt = new AbortController();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private finishing = false;
  private stopped = false;
  private readonly done: Promise<void>;

  private skip?: { timeNano: bigint; count: number };
  private lastNano = -1n;
  private lastDate = new Date(0);

  /**
   * `skipLogged`: the newest entry the log already holds (its time, and how
   * many entries carry that time). After a crash the saved offset may lag
   * behind the log; lines up to that entry are not logged twice.
   */
  constructor(
    private readonly path: string,
    private offset: number,
    private readonly opts: { terminal: boolean; logger?: ContainerLogger; onOffset?(offset: number): void; skipLogged?: { timeNano: bigint; count: number } },
  ) {
    this.skip = opts.skipLogged ? { ...opts.skipLogged } : undefined;
    this.done = this.loop();
  }

  get position(): number {
    return this.offset;
  }

  subscribe(sub: OutputSubscriber): { remove(): void } {
    if (this.finishing || this.stopped) {
      sub.end();
      return { remove: () => undefined };
    }
    const gone = new AbortController();
    this.subscribers.set(sub, gone);
    return {
      remove: () => {
        this.subscribers.delete(sub);
        gone.abort();
      },
    };
  }

  /** The process exited: copy the rest of the spool, flush the log, end every subscriber. */
  async finish(): Promise<void> {
    this.finishing = true;
    this.wake?.();
    await this.done;
  }

  /** Stops reading where it is (daemon shutdown with live-restore); subscribers are ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    this.wake?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    try {
      this.watcher = watch(this.path, () => this.wake?.());
      this.watcher.on('error', () => { /* the poll still runs */ });
    } catch { /* not there (yet): poll */ }
    this.timer = setInterval(() => this.wake?.(), 250);
    try {
      while (!this.stopped) {
        const finishing = this.finishing;
        await this.drain().catch(() => undefined);
        if (finishing || this.stopped) break;
        // finish() came during that drain (its wake found no waiter): drain once more for the last output, now.
        if (this.finishing) continue;
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = undefined;
      }
      await this.opts.logger?.flush().catch(() => undefined);
    } finally {
      this.watcher?.close();
      clearInterval(this.timer);
      for (const s of this.subscribers.keys()) s.end();
      this.subscribers.clear();
    }
  }

  private async drain(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size < this.offset) this.offset = 0; // the spool was reopened
    if (size === this.offset) return;
    const fh = await open(this.path, 'r');
    try {
      const buf = Buffer.alloc(256 * 1024);
      while (!this.stopped) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        const { lines, rest } = splitLines(this.carry, buf.subarray(0, bytesRead));
        this.carry = rest;
        await this.deliver(lines);
        this.offset += bytesRead;
      }
    } finally {
      await fh.close();
    }
    // The offset is saved only for lines the log has on disk: a crash then repeats lines, never loses them.
    await this.opts.logger?.flush().catch(() => undefined);
    this.opts.onOffset?.(this.offset - this.carry.length);
  }

  /**
   * Logs every line; clients get the lines of one read batched per stream
   * (one frame per run of same-stream lines, as dockerd's copier writes
   * what it read), which keeps big outputs cheap.
   */
  private async deliver(lines: Buffer[]): Promise<void> {
    let runStream: 'stdout' | 'stderr' | undefined;
    let parts: Buffer[] = [];
    for (const raw of lines) {
      const rec = parseCriLine(raw);
      if (!rec) continue;
      if (this.skip) {
        if (rec.timeNano < this.skip.timeNano) continue;
        if (rec.timeNano === this.skip.timeNano && this.skip.count-- > 0) continue;
        this.skip = undefined;
      }
      if (this.opts.logger) {
        if (rec.timeNano !== this.lastNano) [this.lastNano, this.lastDate] = [rec.timeNano, new Date(Number(rec.timeNano / 1_000_000n))];
        // No copy of the line: a logger consumes it during the call (ContainerLogger.write).
        this.opts.logger.write({ stream: rec.stream, line: rec.bytes, time: this.lastDate, timeNano: rec.timeNano, partial: rec.partial });
      }
      if (this.subscribers.size === 0) continue;
      const stream = this.opts.terminal ? 'stdout' : rec.stream;
      if (stream !== runStream && parts.length) {
        await this.send(runStream!, Buffer.concat(parts));
        parts = [];
      }
      runStream = stream;
      parts.push(rec.bytes);
      if (!rec.partial) parts.push(NEWLINE);
    }
    if (parts.length) await this.send(runStream!, Buffer.concat(parts));
  }

  private async send(stream: 'stdout' | 'stderr', data: Buffer): Promise<void> {
    for (const [s, gone] of [...this.subscribers]) {
      const sink = stream === 'stderr' ? s.stderr : s.stdout;
      if (!sink || sink.destroyed || sink.writableEnded || gone.signal.aborted) continue;
      if (!sink.write(data)) await writable(sink, gone.signal, this.halt.signal);
    }
  }
}

/**
 * Resolves when `sink` takes writes again, is finished or gone, or a signal fires. A client that
 * stops reading without closing (an HTTP body nobody pipes any more) never drains: its detach
 * (the subscription's removal) or stop() must end the wait, or the pump — and with it the
 * container's log and its stop — would hang on it for good.
 */
function writable(sink: Writable, ...signals: AbortSignal[]): Promise<void> {
  if (signals.some((sig) => sig.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const events = ['drain', 'close', 'error', 'finish'] as const;
    const done = () => {
      for (const e of events) sink.off(e, done);
      for (const sig of signals) sig.removeEventListener('abort', done);
      resolve();
    };
    for (const e of events) sink.on(e, done);
    for (const sig of signals) sig.addEventListener('abort', done, { once: true });
  });
}

const NEWLINE = Buffer.from('\n');
