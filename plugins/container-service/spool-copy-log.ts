import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerLogInfo, ContainerLogger, LogEntry, LogReadOptions, LogReader } from '../../kernel/index.js';
import { parseCriLine } from './cri-line.js';
import { nanoToRfc3339 } from './time-format.js';

/**
 * Where container output goes when no `json-file` log driver plugin is
 * active: a copy of the exec driver's spool lines (CRI format) in the
 * container's directory, kept after the task and its spool are deleted, so
 * `docker logs` works on stopped containers too. No rotation, no options:
 * the log driver plugin, once present, takes over.
 */
const live = new Map<string, EventEmitter>();

export function spoolCopyPath(info: ContainerLogInfo): string {
  return join(info.dir, `${info.containerId}-cri.log`);
}

export function openSpoolCopy(info: ContainerLogInfo): ContainerLogger {
  const path = spoolCopyPath(info);
  const out: WriteStream = createWriteStream(path, { flags: 'a', mode: 0o640 });
  out.on('error', () => { /* surfaces as missing lines; output copying never stalls */ });
  const events = new EventEmitter();
  live.set(path, events);
  let closed = false;
  // Resolves once the last write queued is done (write callbacks come in order). Not 'drain':
  // that only follows a write that filled the stream's buffer, so a flush could wait for good.
  let written: Promise<void> = Promise.resolve();
  return {
    path,
    write(e: LogEntry) {
      const time = nanoToRfc3339(e.timeNano ?? BigInt(e.time.getTime()) * 1_000_000n);
      written = new Promise<void>((r) => {
        out.write(Buffer.concat([Buffer.from(`${time} ${e.stream} ${e.partial ? 'P' : 'F'} `), e.line, NL]), () => {
          events.emit('data');
          r();
        });
      });
    },
    flush: () => written,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((r) => out.end(() => r()));
      if (live.get(path) === events) live.delete(path);
      events.emit('close');
    },
    read: (opts) => readSpoolCopy(path, opts),
  };
}

export function spoolCopyReader(info: ContainerLogInfo): LogReader {
  const path = spoolCopyPath(info);
  return { read: (opts) => readSpoolCopy(path, opts) };
}

async function* readSpoolCopy(path: string, opts: LogReadOptions = {}): AsyncGenerator<LogEntry> {
  const since = toNano(opts.since);
  const until = toNano(opts.until);
  const events = opts.follow ? live.get(path) : undefined;
  let closed = false;
  let pending = false;
  let wake: (() => void) | undefined;
  const onData = () => { pending = true; wake?.(); };
  const onClose = () => { closed = true; wake?.(); };
  const onAbort = () => wake?.();
  events?.on('data', onData).on('close', onClose);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    let text = await readFile(path).catch(() => Buffer.alloc(0));
    let entries = parseAll(text);
    if (opts.tail !== undefined && opts.tail >= 0) entries = opts.tail === 0 ? [] : entries.slice(-opts.tail);
    let consumed = text.lastIndexOf(0x0a) + 1;
    for (const e of entries) {
      if (since !== undefined && e.timeNano! < since) continue;
      if (until !== undefined && e.timeNano! > until) return;
      yield e;
    }
    if (!events) return;
    for (;;) {
      if (!pending && !closed && !opts.signal?.aborted) await new Promise<void>((r) => { wake = r; });
      wake = undefined;
      pending = false;
      const last = closed || opts.signal?.aborted === true;
      text = await readFile(path).catch(() => Buffer.alloc(0));
      const end = text.lastIndexOf(0x0a) + 1;
      for (const e of parseAll(text.subarray(consumed, end))) {
        if (until !== undefined && e.timeNano! > until) return;
        if (since === undefined || e.timeNano! >= since) yield e;
      }
      consumed = end;
      if (last) return;
    }
  } finally {
    events?.off('data', onData).off('close', onClose);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function parseAll(buf: Buffer): LogEntry[] {
  const out: LogEntry[] = [];
  let start = 0;
  for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
    const rec = parseCriLine(buf.subarray(start, nl));
    start = nl + 1;
    if (rec) out.push({ stream: rec.stream, line: rec.bytes, partial: rec.partial, timeNano: rec.timeNano, time: new Date(Number(rec.timeNano / 1_000_000n)) });
  }
  return out;
}

function toNano(t: Date | bigint | undefined): bigint | undefined {
  return t === undefined ? undefined : typeof t === 'bigint' ? t : BigInt(t.getTime()) * 1_000_000n;
}

const NL = Buffer.from('\n');
