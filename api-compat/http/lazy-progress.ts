import type { PassThrough } from 'node:stream';
import type { ProgressEvent } from '../../kernel/index.js';
import type { ApiContext } from './api-context.js';
import { JsonProgressWriter } from './json-progress.js';
import { startStream } from './streaming.js';

/**
 * A JSON progress stream that starts (status 200, headers) only with its
 * first message, as dockerd's WriteFlusher: an error before any output is
 * still answered with its own status code ("pull access denied" is a 404,
 * which the CLI prints as "Error response from daemon: …"); after that it
 * goes in-band.
 */
export class LazyProgress {
  private out: PassThrough | undefined;
  private writer: JsonProgressWriter | undefined;
  /** Fires when the client goes away (before or after the stream started). */
  readonly signal: AbortSignal;

  constructor(private readonly ctx: ApiContext, private readonly contentType = 'application/json') {
    const abort = new AbortController();
    ctx.res.once('close', () => { if (!ctx.res.writableFinished) abort.abort(); });
    this.signal = abort.signal;
  }

  get started(): boolean {
    return this.out !== undefined;
  }

  private onStart: (() => void) | undefined;

  private w(): JsonProgressWriter {
    if (!this.writer) {
      const { out } = startStream(this.ctx, this.contentType);
      this.out = out;
      this.writer = new JsonProgressWriter(out);
      this.onStart?.();
    }
    return this.writer;
  }

  /**
   * Runs `work` for a route: an error before the first message is thrown
   * (its status code answers); once the stream has started the handler
   * returns, so Koa starts sending the body while the work goes on (Koa
   * pipes `ctx.body` only after the handler is done: awaiting the whole
   * pull would hold every progress message back until its end).
   */
  async run(work: () => Promise<void>): Promise<void> {
    const first = new Promise<null>((resolve) => { this.onStart = () => resolve(null); });
    const outcome = work().then(() => ({ err: undefined as unknown, ok: true }), (err: unknown) => ({ err, ok: false }));
    const winner = await Promise.race([outcome, first]);
    if (winner === null) {
      void outcome.then((o) => { try { this.finish(o.ok ? undefined : o.err); } catch { /* the stream has started: finish never throws then */ } });
      return;
    }
    this.finish(winner.ok ? undefined : winner.err);
  }

  /** One progress event, in dockerd's jsonmessage shape. */
  event = (e: ProgressEvent): void => {
    if (this.signal.aborted && !this.out) return;
    const w = this.w();
    if (e.aux !== undefined) w.aux(e.aux);
    else if (e.current !== undefined) w.progress(e.status, e.id ?? '', e.current, e.total);
    else if (e.message || e.id === undefined) w.write(e.id ? { status: e.status, id: e.id } : { status: e.status });
    else w.status(e.status, e.id);
  };

  /** Ends the stream: in-band error when started, else rethrows for the status code. */
  finish(err?: unknown): void {
    if (err !== undefined) {
      if (!this.out) throw err;
      this.writer!.error((err as Error).message);
    }
    if (!this.out) this.w();
    this.out!.end();
  }
}
