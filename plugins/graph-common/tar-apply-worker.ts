/**
 * Worker-thread side of applyLayerTar (see tar-apply-thread.ts): the same
 * LayerUnpacker and TarParser as on the main thread, fed with the chunks the
 * main thread posts. One job at a time; the worker stays for the next job.
 *
 * Messages in:  {t:'start', root, opts}   a new job (root already a real path)
 *               Uint8Array                the next bytes of the tar
 *               {t:'end'}                 the input is complete
 *               {t:'abort'}               stop (input failed, or after a failure): close what is open
 * Messages out: {t:'ack'}                 one chunk is applied (flow control)
 *               {t:'aborted'}             after an abort: nothing of the job is still being written
 *               {t:'done', size}          the job succeeded
 *               {t:'fail', error}         the job failed (error as plain fields)
 *               {t:'log', level, msg, fields}
 *
 * Chunks after a failure are acknowledged and dropped until the next start.
 */
import { parentPort } from 'node:worker_threads';
import type { Logger } from '../../kernel/index.js';
import { LayerUnpacker, type ApplyOptions } from './tar-applier.js';
import { TarParseError, TarParser } from './tar-parser.js';

type Job = { unpacker: LayerUnpacker; parser: TarParser; failed: boolean };

const port = parentPort!;
let job: Job | null = null;
/** Messages are handled one after the other, also when the unpacker has to wait (devices, xattrs). */
let queue: Promise<void> = Promise.resolve();

/** The main thread's logger, by message (the unpacker only logs warnings and debug lines). */
const log: Logger = {
  error: (msg, fields) => port.postMessage({ t: 'log', level: 'error', msg, fields: plain(fields) }),
  warn: (msg, fields) => port.postMessage({ t: 'log', level: 'warn', msg, fields: plain(fields) }),
  info: (msg, fields) => port.postMessage({ t: 'log', level: 'info', msg, fields: plain(fields) }),
  debug: (msg, fields) => port.postMessage({ t: 'log', level: 'debug', msg, fields: plain(fields) }),
  child: () => log,
};

function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return out;
}

function fail(j: Job, err: unknown): void {
  if (j.failed) return;
  j.failed = true;
  j.unpacker.abort();
  const e = err as NodeJS.ErrnoException & { kind?: string };
  // TarParseError and BerthError subclasses are rebuilt from name/kind on the other side.
  port.postMessage({
    t: 'fail',
    error: { name: err instanceof TarParseError ? 'TarParseError' : e?.name, message: e?.message ?? String(err), kind: e?.kind, code: e?.code, errno: e?.errno, syscall: e?.syscall, path: e?.path },
  });
}

async function handle(m: unknown): Promise<void> {
  if (m instanceof Uint8Array) {
    const j = job;
    if (j && !j.failed) {
      try {
        const wait = j.parser.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
        if (wait) await wait;
      } catch (err) {
        fail(j, err);
      }
    }
    port.postMessage({ t: 'ack' });
    return;
  }
  const msg = m as { t: string; root?: string; opts?: ApplyOptions };
  if (msg.t === 'start') {
    const opts: ApplyOptions = { ...msg.opts, log };
    const unpacker = new LayerUnpacker(msg.root!, opts);
    job = { unpacker, parser: new TarParser(unpacker), failed: false };
    return;
  }
  const j = job;
  job = null;
  if (msg.t === 'abort') {
    if (j && !j.failed) {
      j.failed = true;
      j.unpacker.abort();
    }
    port.postMessage({ t: 'aborted' });
    return;
  }
  if (!j || j.failed) return;
  try {
    j.parser.finish();
    await j.unpacker.finish();
    port.postMessage({ t: 'done', size: j.unpacker.size });
  } catch (err) {
    fail(j, err);
  }
}

port.on('message', (m) => {
  queue = queue.then(() => handle(m));
});
