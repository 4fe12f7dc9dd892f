import { watch, type FSWatcher } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { LOG_LINE_PARTIAL, LOG_LINE_STDERR, type ContainerLogger, type LogLineBatch } from '../../kernel/index.js';
import { CriTimeCache, scanCriLines } from '../../lib/cri-log.js';
import { lineEntry, newLineBatch, resetLineBatch } from '../../lib/log-line-batch.js';

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
  /**
   * Where the next read goes: what the last read's buffer has left after
   * its last complete line, starting with the torn line it ended in
   * (`carried` bytes), so a read of a few KB does not cost a buffer of
   * READ_SIZE, and the torn line is not copied. The bytes before it are
   * the clients' (views of them may still sit in their sockets): never
   * written into again.
   */
  private window: Buffer = Buffer.alloc(0);
  private carried = 0;
  /** The spool, kept open between drains (no open and close per wake), and its inode. */
  private fh?: FileHandle;
  private ino = -1;
  private lines?: LogLineBatch;
  /** Each subscriber with the signal its removal fires: a write waiting on that client gives up then. */
  private readonly subscribers = new Map<OutputSubscriber, AbortController>();
  /** Fired by stop(): no write waits on a client any more. */
  private readonly halt = new AbortController();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  /** A change was signalled while no one waited (during a drain): the loop drains again at once. */
  private woken = false;
  private finishing = false;
  private stopped = false;
  private readonly done: Promise<void>;

  private skip?: { timeNano: bigint; count: number };
  private readonly times = new CriTimeCache();

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

  /** Wakes the loop, or has it drain again when it is busy draining. */
  private signal(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  /** The process exited: copy the rest of the spool, flush the log, end every subscriber. */
  async finish(): Promise<void> {
    this.finishing = true;
    this.signal();
    await this.done;
  }

  /** Stops reading where it is (daemon shutdown with live-restore); subscribers are ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    this.signal();
    await this.done;
  }

  private async loop(): Promise<void> {
    try {
      this.watcher = watch(this.path, () => this.signal());
      this.watcher.on('error', () => { /* the poll still runs */ });
    } catch { /* not there (yet): poll */ }
    this.timer = setInterval(() => this.signal(), 250);
    try {
      let drained = false;
      while (!this.stopped) {
        const finishing = this.finishing;
        this.woken = false;
        drained = await this.drain().then(() => true, () => false);
        if (finishing || this.stopped) break;
        // Output (or finish()) that came during that drain found no waiter: drained now, not at the next
        // poll (a line of the other stream written just after the one read waited up to 250 ms).
        if (this.woken) continue;
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = undefined;
      }
      const logged = await this.opts.logger?.flush().then(() => true, () => false) ?? true;
      if (!this.stopped && drained && logged) await this.discardSpool();
    } finally {
      await this.closeSpool();
      this.watcher?.close();
      clearInterval(this.timer);
      for (const s of this.subscribers.keys()) s.end();
      this.subscribers.clear();
    }
  }

  /**
   * After the last read of an exited process's spool (finish): its content
   * is in the log and with the clients, and the task's deletion removes the
   * file next. Emptied now, its pages are dropped before anything writes
   * them back: the root filesystem's unmount at the exit syncs the whole
   * file system under it (overlay's syncfs), which would otherwise write the
   * spool (1.4 bytes per byte of output) to disk on the exit's path just
   * before it is deleted. A crash in between leaves an empty spool, which a
   * restore reads as reopened: nothing is logged twice or lost. A spool
   * whose last read or log write failed is left as it is.
   */
  private async discardSpool(): Promise<void> {
    await truncate(this.path, 0).catch(() => undefined);
  }

  private async drain(): Promise<void> {
    const fh = this.fh ?? (await this.openSpool());
    if (!fh) return;
    while (!this.stopped) {
      let buf = this.window;
      const carried = this.carried;
      if (buf.length - carried < MIN_READ) {
        buf = Buffer.allocUnsafe(carried + READ_SIZE);
        this.window.copy(buf, 0, 0, carried);
      }
      const want = buf.length - carried;
      const { bytesRead } = await this.fh!.read(buf, carried, want, this.offset);
      if (bytesRead === 0) {
        if (await this.spoolReplaced()) continue;
        break;
      }
      const len = carried + bytesRead;
      // One batch for every read: a logger uses it only during writeBatch (ContainerLogger).
      const batch = this.lines ? resetLineBatch(this.lines, buf) : (this.lines = newLineBatch(buf, 4096));
      const consumed = scanCriLines(buf, len, batch, this.times);
      this.window = buf.subarray(consumed);
      this.carried = len - consumed;
      await this.deliver(batch);
      this.offset += bytesRead;
      // Short: the end of what the monitor has written (no read of nothing to find it).
      if (bytesRead < want) break;
    }
    // A buffer too full for the next read is not kept while the pump waits (only its torn line is).
    if (this.window.length - this.carried < MIN_READ) this.window = Buffer.from(this.window.subarray(0, this.carried));
    // The offset is saved only for lines the log has on disk: a crash then repeats lines, never loses them.
    await this.opts.logger?.flush().catch(() => undefined);
    this.opts.onOffset?.(this.offset - this.carried);
  }

  /** Opens the spool; undefined while it is not there yet. */
  private async openSpool(): Promise<FileHandle | undefined> {
    const fh = await open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!fh) return undefined;
    this.ino = (await fh.stat().catch(async (err: unknown) => { await fh.close(); throw err; })).ino;
    this.fh = fh;
    return fh;
  }

  /**
   * The file held open has nothing past the offset: is it still the spool,
   * and as long as what was read? The monitor reopens its log by renaming a
   * new file over it (conmon's log reopen), and a spool cut short starts
   * over: either is read from its start (a torn line of the old one is
   * dropped, nothing can end it). True when reading goes on in a new file.
   */
  private async spoolReplaced(): Promise<boolean> {
    const st = await stat(this.path).catch(() => undefined);
    if (!st || (st.ino === this.ino && st.size >= this.offset)) return false;
    await this.closeSpool();
    this.offset = 0;
    this.carried = 0;
    return (await this.openSpool()) !== undefined;
  }

  private async closeSpool(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  /**
   * Every line of a read goes to the clients, then to the log. Clients get
   * the lines batched per stream (one buffer per run of same-stream lines,
   * as dockerd's copier writes what it read), which keeps big outputs
   * cheap; they get them first, so their sockets carry this read while the
   * logger encodes it (one batch, one write), and only then does the pump
   * wait for a slow client to drain.
   */
  private async deliver(batch: LogLineBatch): Promise<void> {
    if (this.skip) this.skip = dropLogged(batch, this.skip);
    if (batch.count === 0) return;
    let full: Array<Promise<void>> | undefined;
    if (this.subscribers.size > 0) {
      const { flags } = batch;
      let runStart = 0;
      // Runs are joined in order, each inside the bytes of its own lines (see joinLines).
      for (let i = 1; i <= batch.count; i++) {
        if (i < batch.count && (this.opts.terminal || (flags[i]! & LOG_LINE_STDERR) === (flags[runStart]! & LOG_LINE_STDERR))) continue;
        const stderr = !this.opts.terminal && (flags[runStart]! & LOG_LINE_STDERR) !== 0;
        full = this.send(stderr ? 'stderr' : 'stdout', joinLines(batch, runStart, i), full);
        runStart = i;
      }
    }
    const logger = this.opts.logger;
    if (logger?.writeBatch) logger.writeBatch(batch);
    else if (logger) for (let i = 0; i < batch.count; i++) logger.write(lineEntry(batch, i, false));
    if (full) await Promise.all(full);
  }

  /**
   * Writes to every client without waiting; a client whose buffer is full
   * adds the wait for its drain to `full` (one per client and read: the
   * pump then waits for all of them before it reads on, so a client holds
   * at most one read beyond its high-water mark).
   */
  private send(stream: 'stdout' | 'stderr', data: Buffer, full: Array<Promise<void>> | undefined): Array<Promise<void>> | undefined {
    for (const [s, gone] of this.subscribers) {
      const sink = stream === 'stderr' ? s.stderr : s.stdout;
      if (!sink || sink.destroyed || sink.writableEnded || gone.signal.aborted) continue;
      if (!sink.write(data)) (full ??= []).push(writable(sink, gone.signal, this.halt.signal));
    }
    return full;
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

/** How much of the spool one read into a new buffer takes. */
const READ_SIZE = 256 * 1024;
/** A read goes into the rest of the last buffer while that has room for this much. */
const MIN_READ = 64 * 1024;

/**
 * Drops the lines the log already holds (see skipLogged) from the front of a
 * batch: they are the oldest, so once one line is newer the skip is over.
 * Returns what is left of the skip (undefined once it is over).
 */
function dropLogged(batch: LogLineBatch, skip: { timeNano: bigint; count: number }): { timeNano: bigint; count: number } | undefined {
  let first = 0;
  let left: typeof skip | undefined = skip;
  for (; first < batch.count; first++) {
    const t = batch.times[batch.timeIndex[first]!]!;
    if (t < skip.timeNano) continue;
    if (t === skip.timeNano && skip.count-- > 0) continue;
    left = undefined;
    break;
  }
  if (first > 0) {
    batch.start = batch.start.subarray(first);
    batch.end = batch.end.subarray(first);
    batch.flags = batch.flags.subarray(first);
    batch.timeIndex = batch.timeIndex.subarray(first);
    batch.count -= first;
  }
  return left;
}

/**
 * Lines [from, to) of a batch as the process wrote them (each with its
 * newline unless partial), as one view into the batch's buffer: the lines
 * are moved together in place (never forward: each lands at or before where
 * it was, after the lines before it; the newline after one lands where the
 * spool's header of the next was), one native copy per line within a buffer,
 * much cheaper than one between buffers. Each line's start and end are
 * updated to where it now is, so the logger encodes the same bytes after
 * this; the view is the client's to keep (the pump reads into a new buffer
 * next time) and no later run writes into it (each run stays inside the
 * bytes of its own lines).
 */
export function joinLines(batch: LogLineBatch, from: number, to: number): Buffer {
  const { data, start, end, flags } = batch;
  const base = start[from]!;
  let o = base;
  for (let i = from; i < to; i++) {
    const s = start[i]!;
    const e = end[i]!;
    if (s !== o) {
      data.copyWithin(o, s, e);
      start[i] = o;
      end[i] = o + (e - s);
    }
    o += e - s;
    if ((flags[i]! & LOG_LINE_PARTIAL) === 0) data[o++] = 0x0a;
  }
  return data.subarray(base, o);
}
