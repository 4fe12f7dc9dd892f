import { Readable } from 'node:stream';
import { InvalidParameterError, type ImageStore } from '../../kernel/index.js';
import type { ApiContext } from '../http/api-context.js';
import { JsonProgressWriter } from '../http/json-progress.js';
import { queryList, queryString } from '../http/query.js';
import { startStream } from '../http/streaming.js';

/**
 * `POST /images/create`: import (`fromSrc`) or pull (`fromImage`).
 *
 * Import from the request body (`fromSrc=-`) writes nothing until the image
 * exists, so every failure is a plain HTTP error as in dockerd; the result
 * is one `{"status":"sha256:…"}` message. Import from a URL reports the
 * download first, so later failures go in-band.
 *
 * Pulling needs the registry client, which Berth does not have yet: the
 * reference is checked as dockerd checks it, then the stream carries a
 * clear error, which the CLI prints.
 */
export async function imageCreate(ctx: ApiContext, store: ImageStore): Promise<void> {
  const fromImage = queryString(ctx.query.fromImage);
  if (fromImage) return pull(ctx, store.pullReference(fromImage, queryString(ctx.query.tag)));
  const src = queryString(ctx.query.fromSrc) ?? '';
  const opts = {
    repo: queryString(ctx.query.repo),
    tag: queryString(ctx.query.tag),
    message: queryString(ctx.query.message) || `Imported from ${src}`,
    changes: queryList(ctx.query.changes),
    platform: queryString(ctx.query.platform) || undefined,
  };
  if (src === '-') {
    let id: string;
    try {
      id = await store.importImage(ctx.req, opts);
    } catch (err) {
      ctx.req.resume(); // let the client finish sending, so it reads our answer
      throw err;
    }
    const { out } = startStream(ctx, 'application/json');
    new JsonProgressWriter(out).status(id);
    out.end();
    return;
  }
  const url = /:\/\//.test(src) ? src : `http://${src}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParameterError(`parse "${url}": invalid URL`);
  }
  ctx.req.resume();
  const { out } = startStream(ctx, 'application/json');
  const progress = new JsonProgressWriter(out);
  try {
    const res = await fetch(parsed);
    if (!res.ok || !res.body) {
      throw new Error(`failed to GET ${parsed.href} with status ${res.status} ${res.statusText}: ${(await res.text()).slice(0, 512)}`);
    }
    progress.status(`Downloading from ${parsed.href}`);
    const id = await store.importImage(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), opts);
    progress.status(id);
  } catch (err) {
    progress.error((err as Error).message);
  }
  out.end();
}

function pull(ctx: ApiContext, ref: string): void {
  const { out } = startStream(ctx, 'application/json');
  new JsonProgressWriter(out).error(`cannot pull ${ref}: pulling from a registry is not available in Berth yet; load the image with \`docker load\` or create it with \`docker import\``);
  out.end();
}
