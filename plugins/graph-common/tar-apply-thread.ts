import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, NotImplementedError, SystemError, UnavailableError,
} from '../../kernel/index.js';
import { applyLayerTar, type ApplyOptions } from './tar-applier.js';
import { TarParseError } from './tar-parser.js';

/** Chunks posted to the worker and not yet applied before the input is paused, and where it resumes. */
const MAX_IN_FLIGHT = 8;
const RESUME_AT = 2;
/** Idle workers kept for the next layer (a load applies a few at once). */
const MAX_IDLE = 2;
/**
 * A layer that ends within this many bytes is unpacked on the main thread
 * when no worker is idle: booting one costs 60-80 ms of CPU, more than
 * unpacking a few MiB (busybox's ~2 MB layer takes a few ms here). Also the
 * point past which a load's upload boots its workers (layerWorkersWorthIt).
 */
export const SMALL_LAYER_BYTES = 4 << 20;

/**
 * applyLayerTar on a worker thread: the unpacking (thousands of synchronous
 * file system calls, the bulk of a layer's time) runs beside the main
 * thread, which meanwhile receives the upload, hashes the layer (diff ID),
 * records its tar-split and serves other requests; and layers that do not
 * depend on each other (overlay2's diff dirs) are unpacked on several
 * threads at once. Same code, same safety: the worker runs LayerUnpacker
 * (tar-apply-worker.ts) on the bytes this side posts, with flow control so
 * a fast input never piles up in memory.
 *
 * A layer that ends within `smallLayerBytes` while no worker is idle is
 * unpacked here (see SMALL_LAYER_BYTES); 0 always uses a worker.
 *
 * The promise settles only when the worker has stopped writing into root
 * (on failure too), so a caller may remove root at once. Without a worker
 * file (a build without it) the unpacking runs here, as before.
 */
export async function applyLayerTarOffThread(rootDir: string, input: Readable, opts: ApplyOptions = {}, smallLayerBytes = SMALL_LAYER_BYTES): Promise<number> {
  const file = workerFile();
  if (file === null) return applyLayerTar(rootDir, input, opts);
  if (idle.length === 0 && smallLayerBytes > 0) {
    // No worker ready: a small layer is unpacked here rather than paying for a boot. Its first bytes are read
    // (nothing is written meanwhile); a layer that ends within them is applied from memory, a bigger one goes on
    // to a worker with those bytes put back in front of the rest.
    const head = await readHead(input, smallLayerBytes);
    if (head.ended) return applyLayerTar(rootDir, Readable.from(head.chunks, { objectMode: false }), opts);
    for (let i = head.chunks.length - 1; i >= 0; i--) input.unshift(head.chunks[i]!);
  }
  // Listen at once: an input failing while root is resolved must not be an unhandled 'error' event.
  let early: Error | null = null;
  const onEarlyError = (err: Error) => { early ??= err; };
  input.on('error', onEarlyError);
  let root: string;
  try {
    root = await realpath(rootDir);
  } catch (err) {
    input.off('error', onEarlyError);
    input.destroy();
    throw err;
  }
  const worker = takeWorker(file);
  return new Promise<number>((resolve, reject) => {
    let inFlight = 0;
    let settled = false;
    let stopping = false;

    const detach = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onInputError);
      worker.off('message', onMessage);
      worker.off('error', onWorkerError);
      worker.off('exit', onExit);
    };
    const settle = (err: Error | null, size = 0) => {
      if (settled) return;
      settled = true;
      detach();
      if (err) {
        input.destroy();
        reject(err);
      } else {
        giveBack(worker);
        resolve(size);
      }
    };
    /** Stops the worker's job and settles with `err` once it confirms nothing more is written. */
    const stop = (err: Error) => {
      if (stopping) return;
      stopping = true;
      input.off('data', onData);
      input.pause();
      worker.postMessage({ t: 'abort' });
      const onAborted = (m: { t: string }) => {
        if (m.t !== 'aborted') return;
        worker.off('message', onAborted);
        if (!settled) {
          settle(err);
          giveBack(worker);
        }
      };
      worker.on('message', onAborted);
    };
    const onMessage = (m: { t: string; size?: number; error?: PlainError; level?: string; msg?: string; fields?: Record<string, unknown> }) => {
      switch (m.t) {
        case 'ack':
          inFlight--;
          if (!stopping && input.isPaused() && inFlight <= RESUME_AT) input.resume();
          return;
        case 'done':
          settle(null, m.size);
          return;
        case 'fail':
          stop(rebuildError(m.error!));
          return;
        case 'log': {
          const log = opts.log as unknown as Record<string, ((msg: string, f?: Record<string, unknown>) => void) | undefined> | undefined;
          log?.[m.level!]?.(m.msg!, m.fields);
          return;
        }
        default:
      }
    };
    const onData = (chunk: Buffer) => {
      // A copy of exactly these bytes, handed over without a second copy (a Buffer may view a larger pool).
      const copy = new Uint8Array(chunk);
      worker.postMessage(copy, [copy.buffer]);
      if (++inFlight >= MAX_IN_FLIGHT) input.pause();
    };
    const onEnd = () => {
      if (!stopping) worker.postMessage({ t: 'end' });
    };
    const onInputError = (err: Error) => stop(err);
    const onWorkerError = (err: Error) => { dead(worker); settle(new SystemError(`layer unpacking thread failed: ${err.message}`)); };
    const onExit = (code: number) => { dead(worker); settle(new SystemError(`layer unpacking thread exited with code ${code}`)); };

    worker.on('message', onMessage);
    worker.once('error', onWorkerError);
    worker.once('exit', onExit);
    worker.postMessage({ t: 'start', root, opts: { whiteouts: opts.whiteouts, opaqueXattr: opts.opaqueXattr, xattrErrors: opts.xattrErrors } });
    input.on('error', onInputError);
    input.off('error', onEarlyError);
    const failed = early ?? input.errored;
    if (failed) { stop(failed); return; }
    input.on('end', onEnd);
    input.on('data', onData);
    input.resume(); // readHead may have left it paused (a 'data' listener alone does not restart a paused stream)
  });
}

/**
 * Reads `input` until it ends or `limit` bytes have arrived, whichever comes
 * first; a failing input rejects. The input is left paused, with no listener
 * of this function on it.
 */
function readHead(input: Readable, limit: number): Promise<{ chunks: Buffer[]; ended: boolean }> {
  if (input.errored) return Promise.reject(input.errored);
  if (input.readableEnded) return Promise.resolve({ chunks: [], ended: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (err: Error | null, ended: boolean) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      input.pause();
      if (err) reject(err);
      else resolve({ chunks, ended });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= limit) done(null, false);
    };
    const onEnd = () => done(null, true);
    const onError = (err: Error) => done(err, false);
    input.on('error', onError);
    input.on('end', onEnd);
    input.on('data', onData);
  });
}

interface PlainError { name?: string; message: string; kind?: string; code?: string; errno?: number; syscall?: string; path?: string }

const KINDS: Record<string, new (message: string) => Error> = {
  'not-found': NotFoundError,
  'invalid-parameter': InvalidParameterError,
  conflict: ConflictError,
  forbidden: ForbiddenError,
  'not-implemented': NotImplementedError,
  unavailable: UnavailableError,
  system: SystemError,
};

/** The worker's error as the class the caller would have seen in-thread (Berth errors, tar format errors, errno errors). */
function rebuildError(e: PlainError): Error {
  if (e.kind && KINDS[e.kind] && e.name !== 'Error') return new KINDS[e.kind]!(e.message);
  if (e.name === 'TarParseError') return new TarParseError(e.message);
  const err = new Error(e.message) as NodeJS.ErrnoException;
  if (e.code !== undefined) Object.assign(err, { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path });
  return err;
}

// --- the workers ---------------------------------------------------------------

const idle: Worker[] = [];
const busy = new Set<Worker>();
let resolvedFile: string | null | undefined;

/**
 * The worker's script: next to the bundle (dist/tar-apply-worker.cjs, made
 * by scripts/bundle.mjs) when berthd runs bundled, else the compiled module
 * beside this one (tests run the tsc output). BERTH_APPLY_IN_THREAD=1 keeps
 * the unpacking on the main thread.
 */
function workerFile(): string | null {
  if (resolvedFile !== undefined) return resolvedFile;
  if (process.env.BERTH_APPLY_IN_THREAD === '1') return (resolvedFile = null);
  const candidate = typeof __dirname === 'string'
    ? join(__dirname, 'tar-apply-worker.cjs')
    : fileURLToPath(new URL('./tar-apply-worker.js', import.meta.url));
  return (resolvedFile = existsSync(candidate) ? candidate : null);
}

/**
 * Starts up to `n` workers ahead of the layers that will need them (a
 * worker takes ~50-100 ms of CPU to boot; a `docker load` calls this when its
 * upload starts, so the boot overlaps receiving the archive). Idle ones are
 * kept anyway, up to the pool's size.
 */
export function prewarmLayerWorkers(n: number): void {
  const file = workerFile();
  if (file === null) return;
  while (idle.length < Math.min(n, MAX_IDLE)) {
    const w = newWorker(file);
    w.unref();
    idle.push(w);
  }
}

function newWorker(file: string): Worker {
  const created = new Worker(file);
  // An idle worker that dies (it should not) just leaves the pool; a busy one also fails its job (onWorkerError).
  created.on('error', () => dead(created));
  created.on('exit', () => dead(created));
  return created;
}

function takeWorker(file: string): Worker {
  const w = idle.pop() ?? newWorker(file);
  w.ref(); // a job in progress keeps the process alive
  busy.add(w);
  return w;
}

/** Back to the pool (unreferenced: an idle worker never keeps the daemon from exiting), or ended when enough are idle. */
function giveBack(w: Worker): void {
  if (!busy.delete(w)) return;
  if (idle.length < MAX_IDLE) {
    w.unref();
    idle.push(w);
  } else {
    void w.terminate();
  }
}

/** Workers alive (idle and busy): what tests check to know which side unpacked a layer. */
export function layerWorkerCount(): number {
  return idle.length + busy.size;
}

function dead(w: Worker): void {
  busy.delete(w);
  const i = idle.indexOf(w);
  if (i >= 0) idle.splice(i, 1);
}
