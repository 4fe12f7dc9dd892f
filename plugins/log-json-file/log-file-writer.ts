import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../kernel/index.js';
import { compressLogFile } from './gzip-extra.js';
import { acquireHub, releaseHub, type LogFileHub } from './log-file-hub.js';
import type { RotationOptions } from './log-options.js';
import { stampNano, type LogStamp } from './log-time.js';

/**
 * Appends encoded log lines to `<id>-json.log` and rotates it as dockerd's
 * loggerutils.LogFile does: before a write, when the file has reached
 * max-size, `.N-1` is dropped, `.1 … .N-2` shift up, the file becomes `.1`
 * (gzipped in the background when `compress`; `.gz` names shift instead) and
 * a new empty file takes its name. With max-file 1 the old file is simply
 * unlinked. Readers that still hold the old file keep reading it.
 *
 * Writes are queued and written in batches by one drain loop, so a chatty
 * container costs one write per batch, never one per line, and the caller
 * never waits on the disk.
 */
export class LogFileWriter {
  private readonly queue: QueuedWrite[] = [];
  private draining: Promise<void> | undefined;
  private compressing: Promise<void> = Promise.resolve();
  /** When the last entry written to the current file happened (for a compressed file's header). */
  private lastTime: LogStamp = 0n;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Where `room` carves encoded batches from, and how much of it is taken. */
  private arena: Buffer | undefined;
  private arenaUsed = 0;

  private constructor(
    readonly path: string,
    private readonly opts: RotationOptions,
    private fh: FileHandle,
    private size: number,
    private readonly hub: LogFileHub,
    private readonly log: Logger,
  ) {}

  static async open(path: string, opts: RotationOptions, log: Logger): Promise<LogFileWriter> {
    const fh = await open(path, 'a', 0o640);
    const { size } = await fh.stat();
    const hub = acquireHub(path);
    hub.writers++;
    return new LogFileWriter(path, opts, fh, size, hub, log);
  }

  /** Queues one encoded line; `time` is when it happened (kept for a compressed file's header). */
  write(data: Buffer, time: LogStamp): void {
    if (this.closing) throw new Error('cannot write because the output file was closed');
    this.queue.push({ data, time });
    this.draining ??= this.drain();
  }

  /**
   * Queues many encoded lines in one buffer (line i ends at `ends[i]`, and
   * happened at `timeOf(i)`): one write for all of them, split only where a
   * rotation falls, which is the same place as with one `write` per line.
   */
  writeLines(data: Buffer, ends: Uint32Array, count: number, timeOf: (i: number) => LogStamp): void {
    if (this.closing) throw new Error('cannot write because the output file was closed');
    if (count === 0) return;
    this.queue.push({ data, time: timeOf(count - 1), ends, count, timeOf });
    this.draining ??= this.drain();
  }

  /**
   * `size` bytes for the caller to fill with encoded lines and queue
   * (writeLines) before it returns. Big batches share one arena, which
   * starts over once everything carved from it is written (the pump
   * flushes after each wake): a chatty container's log costs no new memory
   * per batch, where a buffer per batch was memory outside the JavaScript
   * heap whose volume sets how often V8 runs a full GC. Small ones, and
   * ones bigger than the arena, get their own buffer.
   */
  readonly room = (size: number): Buffer => {
    if (size < ARENA_MIN_PIECE || size > ARENA_SIZE) return Buffer.allocUnsafe(size);
    if (this.queue.length === 0 && this.draining === undefined) this.arenaUsed = 0; // nothing carved is still to write
    if (!this.arena || this.arenaUsed + size > this.arena.length) {
      this.arena = Buffer.allocUnsafe(ARENA_SIZE); // the old one is left to the writes that still hold pieces of it
      this.arenaUsed = 0;
    }
    const piece = this.arena.subarray(this.arenaUsed, this.arenaUsed + size);
    this.arenaUsed += size;
    return piece;
  };

  /** Resolves when everything queued is written; rejects once with a write error that happened since. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    const err = this.failure;
    this.failure = undefined;
    if (err) throw err;
  }

  /** Flushes, waits for a running compression, closes the file and ends the follows. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let err: unknown;
      await this.flush().catch((e) => { err = e; });
      await this.compressing;
      await this.fh.close().catch(() => {});
      this.hub.writerClosed();
      releaseHub(this.path);
      if (err) throw err;
    })();
    return this.closing;
  }

  /** Runs while the queue has entries; clears `draining` in the same tick it finds the queue empty. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.draining = undefined;
        return;
      }
      const batch = this.queue.splice(0);
      let chunks: Buffer[] = [];
      let pending = 0;
      let time = this.lastTime;
      for (const item of batch) {
        let from = 0; // the first line of the item not queued yet (bytes from `item.data[offset]`)
        let offset = 0;
        const count = item.count ?? 1;
        while (from < count) {
          // Before each line, dockerd rotates once the file has reached max-size.
          if (this.opts.maxSize !== -1 && this.size + pending >= this.opts.maxSize) {
            await this.append(chunks, time);
            chunks = [];
            pending = 0;
            await this.rotate().catch((err: Error) => {
              this.failure ??= new Error(`error rotating log file: ${err.message}`);
              this.log.error('error rotating log file', { file: this.path, error: err });
            });
          }
          // As many lines as fit before the file reaches max-size (all of them without one); at least one.
          let to = count;
          if (item.ends && this.opts.maxSize !== -1) {
            const room = this.opts.maxSize - this.size - pending;
            to = from + 1;
            while (to < count && item.ends[to - 1]! - offset < room) to++;
          }
          const stop = item.ends ? item.ends[to - 1]! : item.data.length;
          const piece = offset === 0 && stop === item.data.length ? item.data : item.data.subarray(offset, stop);
          chunks.push(piece);
          pending += piece.length;
          time = item.timeOf ? item.timeOf(to - 1) : item.time;
          offset = stop;
          from = to;
        }
      }
      await this.append(chunks, time);
    }
  }

  private async append(chunks: Buffer[], time: LogStamp): Promise<void> {
    if (chunks.length === 0) return;
    const total = chunks.reduce((n, c) => n + c.length, 0);
    try {
      const written = (await this.fh.writev(chunks)).bytesWritten;
      // A short write (a signal, a nearly full disk) leaves the rest to write plainly.
      if (written < total) {
        const rest = Buffer.concat(chunks).subarray(written);
        for (let off = 0; off < rest.length;) off += (await this.fh.write(rest, off)).bytesWritten;
      }
      this.size += total;
      this.lastTime = time;
      this.hub.changed();
    } catch (err) {
      this.failure ??= new Error(`error writing log entry: ${(err as Error).message}`);
      this.log.error('error writing log entry', { file: this.path, error: err });
    }
  }

  private async rotate(): Promise<void> {
    await this.compressing; // dockerd's rotateMu: one rotation (with its compression) at a time
    const { maxFiles, compress } = this.opts;
    await this.hub.lock.write(async () => {
      await this.fh.close().catch(() => {});
      try {
        await shiftRotated(this.path, maxFiles, compress);
        if (maxFiles < 2) await unlinkIfExists(this.path);
        else await rename(this.path, `${this.path}.1`).catch(ignoreMissing);
      } catch (err) {
        this.log.warn('error rotating log file, log data may have been lost', { file: this.path, error: err });
      }
      // Truncate anyway, in case the rotation did not work out as planned.
      this.fh = await open(this.path, 'w', 0o640);
    });
    this.size = 0;
    this.hub.changed();
    if (compress && maxFiles > 1) {
      const last = stampNano(this.lastTime);
      this.compressing = compressLogFile(`${this.path}.1`, last).catch((err) => {
        this.log.error('error compressing log file after rotation', { file: this.path, error: err });
      });
    }
  }
}

/** The writer's arena for encoded batches (see room): a few reads' worth of a chatty container's log. */
const ARENA_SIZE = 1 << 20;
/** Below this a batch gets its own buffer (no arena for a quiet container). */
const ARENA_MIN_PIECE = 16 * 1024;

/** Encoded lines waiting for the drain: one line, or `count` lines ending at `ends`. */
interface QueuedWrite {
  data: Buffer;
  /** When the (last) line happened. */
  time: LogStamp;
  ends?: Uint32Array;
  count?: number;
  timeOf?: (i: number) => LogStamp;
}

/** dockerd's rotate(): drop `.N-1`, move `.i-1` to `.i` down to `.2` (with `.gz` when compressing). */
async function shiftRotated(name: string, maxFiles: number, compress: boolean): Promise<void> {
  if (maxFiles < 2) return;
  const ext = compress ? '.gz' : '';
  await unlinkIfExists(`${name}.${maxFiles - 1}${ext}`);
  for (let i = maxFiles - 1; i > 1; i--) {
    await rename(`${name}.${i - 1}${ext}`, `${name}.${i}${ext}`).catch(ignoreMissing);
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  await unlink(path).catch(ignoreMissing);
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
