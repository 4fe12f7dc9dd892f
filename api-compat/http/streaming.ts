import { PassThrough } from 'node:stream';
import type { ApiContext } from './api-context.js';

/**
 * Starts a long-lived streamed response: status 200, the given Content-Type,
 * chunked encoding, and headers flushed at once — `docker events`, `stats`
 * and `wait` block until they see them (pitfall 5). Returns the writable
 * body and an AbortSignal that fires when the client goes away.
 *
 * Everything that can fail with a status code must happen before this call:
 * afterwards errors can only go in-band.
 */
export function startStream(ctx: ApiContext, contentType: string): { out: PassThrough; signal: AbortSignal } {
  const out = new PassThrough();
  const abort = new AbortController();
  ctx.status = 200;
  ctx.set('Content-Type', contentType);
  ctx.req.socket.setTimeout(0);
  ctx.body = out;
  ctx.res.flushHeaders();
  const onClose = () => { abort.abort(); out.end(); };
  ctx.res.once('close', onClose);
  out.once('end', () => ctx.res.off('close', onClose));
  return { out, signal: abort.signal };
}

/** Writes one JSON value per line (events, stats). */
export function writeJsonLine(out: NodeJS.WritableStream, value: unknown): boolean {
  return out.write(JSON.stringify(value) + '\n');
}
