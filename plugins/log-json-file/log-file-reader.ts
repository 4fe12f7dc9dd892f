import { statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { LogEntry, LogLineBatch, LogReadOptions } from '../../kernel/index.js';
import { batchEntries } from '../../lib/log-line-batch.js';
import { BlockDecoder, type LineGate } from './block-decoder.js';
import { compressedLastTime } from './gzip-extra.js';
import { acquireHub, peekHub, releaseHub, type LogFileHub } from './log-file-hub.js';
import { toNano } from './log-time.js';
import { FileSource, GzipSource, LineScanner, tailStart, type LogSource } from './log-sources.js';

/** How long a follow sleeps between checks when no writer in this process will wake it (another process writes). */
const POLL_EXTERNAL_MS = 200;
/** A safety net for an in-process writer: its writes wake the follow at once. */
const POLL_INTERNAL_MS = 1000;

/**
 * dockerd's forwarder: entries before `since` are skipped until the first one
 * at or after it (timestamps need not be monotonic, so later ones are never
 * dropped); the first entry after `until` ends the read.
 */
class Forwarder implements LineGate {
  constructor(private since: bigint | undefined, private readonly until: bigint | undefined) {}

  check(t: bigint): 'emit' | 'skip' | 'stop' {
    if (this.since !== undefined) {
      if (t < this.since) return 'skip';
      this.since = undefined;
    }
    return this.until !== undefined && t > this.until ? 'stop' : 'emit';
  }
}

/**
 * Reads a json-file log: the rotated files oldest first, then the current
 * file, the last `tail` lines of them all, filtered by since/until; then,
 * with `follow`, whatever is written next — across rotations — until the
 * signal aborts, `until` passes, or the writer that was open closes.
 */
export function readLogFile(path: string, maxFiles: number, opts: LogReadOptions = {}): AsyncGenerator<LogEntry> {
  return batchEntries(readLogBatches(path, maxFiles, opts));
}

/** The same read in batches: each block of the file decoded in place (see JsonLineDecoder). */
export function readLogBatches(path: string, maxFiles: number, opts: LogReadOptions = {}): AsyncGenerator<LogLineBatch> {
  // What the read starts from is taken now, when it is asked for, not when the generator first
  // runs (the API route awaits in between), as dockerd's ReadLogs does: a follow must end with the
  // writer open now even if that writer closes before the first read (the container exits), and
  // `tail 0` must start after what was logged by now, not after what was logged by the time the
  // files got opened.
  const atCall = peekHub(path);
  const watched = atCall && atCall.writers > 0 ? { hub: atCall, closes: atCall.closes } : undefined;
  let end: FileMark | undefined;
  if (opts.follow && opts.tail === 0 && watched) {
    try {
      const st = statSync(path);
      end = { ino: st.ino, dev: st.dev, size: st.size };
    } catch {
      // Not there (a rotation is renaming it): everything in the next file is new.
      end = { ino: -1, dev: -1, size: 0 };
    }
  }
  return read(path, maxFiles, opts, watched, end);
}

/** A file's identity and size at one moment. */
interface FileMark { ino: number; dev: number; size: number }

async function* read(
  path: string,
  maxFiles: number,
  opts: LogReadOptions,
  watched: { hub: LogFileHub; closes: number } | undefined,
  end: FileMark | undefined,
): AsyncGenerator<LogLineBatch> {
  const hub = acquireHub(path);
  const fwd = new Forwarder(toNano(opts.since), toNano(opts.until));
  // The writer open at the call closed since if its hub was dropped (-1 never equals a count).
  const closesAtStart = !watched ? hub.closes : watched.hub === hub ? watched.closes : -1;
  let rotated: LogSource[] = [];
  let current: FileHandle | undefined;
  try {
    // Open every file at once, with no rotation in between (dockerd's fsopMu.RLock).
    await hub.lock.read(async () => {
      rotated = opts.tail === 0 ? [] : await openRotated(path, maxFiles, toNano(opts.since));
      current = end ? await openMarked(path, maxFiles, end) : await openIfExists(path);
    });
    const scanner = new LineScanner();
    const dec = new BlockDecoder();
    const cur = current ? new FileSource(current) : undefined;
    const curSize = cur ? (end && current ? end.size : await cur.size()) : 0;
    let pos = 0;
    if (opts.tail !== 0) {
      // A rotated file's size is only asked for when the tail reaches it (a gzipped one decompresses then).
      const sources: Source[] = rotated.map((src) => ({ src, final: true }));
      if (cur) sources.push({ src: cur, end: curSize, final: false });
      for (const r of await tailRanges(sources, opts.tail ?? -1)) {
        for await (const block of scanner.blocks(r.src, r.start, r.end, r.final)) {
          const { batches, stop } = dec.decode(block, fwd, {});
          yield* batches;
          if (stop) return;
        }
        if (r.src === cur) pos = scanner.consumed;
      }
    } else if (cur) {
      pos = await lastLineEnd(cur, curSize);
    }
    await Promise.all(rotated.map((s) => s.close()));
    rotated = [];
    if (!opts.follow) return;
    const follow = followFile(path, maxFiles, hub, current, pos, closesAtStart, fwd, opts.signal);
    current = undefined; // the follow owns (and closes) it now
    yield* follow;
  } finally {
    await Promise.all(rotated.map((s) => s.close()));
    await current?.close().catch(() => {});
    releaseHub(path);
  }
}

/**
 * The follow loop (loggerutils' follow.Do): reads the current file by
 * position, and when the name points at a new file (a rotation), finishes the
 * old one, reads any rotated files it slept through, and goes on in the new one.
 */
async function* followFile(
  path: string,
  maxFiles: number,
  hub: LogFileHub,
  fh: FileHandle | undefined,
  pos: number,
  closesAtStart: number,
  fwd: Forwarder,
  signal: AbortSignal | undefined,
): AsyncGenerator<LogLineBatch> {
  const scanner = new LineScanner();
  const dec = new BlockDecoder();
  const seen: { last?: bigint } = {};
  /** Every line of `src` from `from`, through since/until; false once until has passed. */
  const drain = async function* (src: LogSource, from: number, final: boolean): AsyncGenerator<LogLineBatch, boolean> {
    for await (const block of scanner.blocks(src, from, undefined, final)) {
      const { batches, stop } = dec.decode(block, fwd, seen);
      yield* batches;
      if (stop) return false;
    }
    return true;
  };
  try {
    for (;;) {
      if (signal?.aborted) return;
      const writerClosed = hub.closes !== closesAtStart;
      const seenSeq = hub.seq;
      if (!fh) {
        fh = await openIfExists(path);
        pos = 0;
        if (fh) continue;
      } else {
        if (!(yield* drain(new FileSource(fh), pos, false))) return;
        pos = scanner.consumed;
        const old = await fh.stat();
        const named = await stat(path).catch(() => undefined);
        if (named && (named.ino !== old.ino || named.dev !== old.dev)) {
          // The writer closed this file before renaming it: what is in it now is final.
          if (!(yield* drain(new FileSource(fh), pos, true))) return;
          await fh.close().catch(() => {});
          fh = undefined;
          let missed: LogSource[] = [];
          await hub.lock.read(async () => {
            missed = await openMissed(path, maxFiles, old, seen.last);
            fh = await openIfExists(path);
          });
          try {
            for (const src of missed) if (!(yield* drain(src, 0, true))) return;
          } finally {
            await Promise.all(missed.map((m) => m.close()));
          }
          pos = 0;
          continue;
        }
      }
      // Everything written before the writer closed has been read: the follow is over.
      if (writerClosed) return;
      // A write or rotation during the read above wakes this at once (the counter moved).
      await hub.waitForChange(seenSeq, hub.writers > 0 ? POLL_INTERNAL_MS : POLL_EXTERNAL_MS, signal);
    }
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * Rotated files written after the file a follow just finished — rotations
 * that happened while it slept — oldest first. Walking from `.1` back, a plain
 * file is that file when it has its inode; a compressed one is newer when its
 * header's lastTime is after the last entry seen.
 */
async function openMissed(path: string, maxFiles: number, old: { ino: number; dev: number }, lastSeen: bigint | undefined): Promise<LogSource[]> {
  const out: LogSource[] = [];
  for (let i = 1; i < maxFiles; i++) {
    const plain = await openIfExists(`${path}.${i}`);
    if (plain) {
      const st = await plain.stat();
      if (st.ino === old.ino && st.dev === old.dev) { await plain.close(); break; }
      out.unshift(new FileSource(plain));
      continue;
    }
    const gz = await openIfExists(`${path}.${i}.gz`);
    if (!gz) break;
    const last = await compressedLastTime(gz);
    if (last === undefined || lastSeen === undefined || last <= lastSeen) { await gz.close(); break; }
    out.unshift(new GzipSource(gz));
  }
  return out;
}

/** Rotated files, oldest (`.N-1`) first; `.i` is preferred over `.i.gz` (it exists while compression runs). */
async function openRotated(path: string, maxFiles: number, since: bigint | undefined): Promise<LogSource[]> {
  const out: LogSource[] = [];
  for (let i = maxFiles - 1; i >= 1; i--) {
    const plain = await openIfExists(`${path}.${i}`);
    if (plain) {
      out.push(new FileSource(plain));
      continue;
    }
    const gz = await openIfExists(`${path}.${i}.gz`);
    if (gz) out.push(new GzipSource(gz, since));
  }
  return out;
}

/** One file of the history: its end is known for the current file (the size when it was opened). */
interface Source {
  src: LogSource;
  end?: number;
  final: boolean;
}

/** The byte ranges holding the last `n` lines across sources (all of them when n < 0), oldest first. */
async function tailRanges(sources: Source[], n: number): Promise<Array<{ src: LogSource; start: number; end: number; final: boolean }>> {
  const out: Array<{ src: LogSource; start: number; end: number; final: boolean }> = [];
  let remaining = n;
  for (let i = sources.length - 1; i >= 0 && (n < 0 || remaining > 0); i--) {
    const s = sources[i]!;
    const end = s.end ?? (await s.src.size());
    if (n < 0) {
      out.unshift({ src: s.src, start: 0, end, final: s.final });
      continue;
    }
    const { start, lines } = await tailStart(s.src, end, remaining);
    remaining -= lines;
    out.unshift({ src: s.src, start, end, final: s.final });
  }
  return out;
}

/**
 * The file `mark` was taken of: the current file, or the rotated `.i` it became since (the follow
 * finishes it, then reads the files after it, as after any rotation it sleeps through).
 * Undefined when it is gone or compressed: the follow then starts at the top of the current file.
 */
async function openMarked(path: string, maxFiles: number, mark: FileMark): Promise<FileHandle | undefined> {
  for (let i = 0; i < Math.max(1, maxFiles); i++) {
    const fh = await openIfExists(i === 0 ? path : `${path}.${i}`);
    if (!fh) continue;
    const st = await fh.stat();
    if (st.ino === mark.ino && st.dev === mark.dev) return fh;
    await fh.close();
  }
  return undefined;
}

/** Where the last complete line of `src[0, size)` ends: a follow from "now" starts there. */
async function lastLineEnd(src: LogSource, size: number): Promise<number> {
  if (size === 0) return 0;
  const { start } = await tailStart(src, size, 1);
  const last = Buffer.alloc(1);
  await src.read(last, size - 1);
  return last[0] === 0x0a ? size : start;
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
