import { Readable } from 'node:stream';
import { ExtensionPoint, InvalidParameterError, NotImplementedError, type Distribution, type ImageStore, type PluginHost } from '../../kernel/index.js';
import { LazyProgress } from '../http/lazy-progress.js';
import { registryAuthHeader } from '../http/registry-auth.js';
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
 * Pulling goes to the registry client (`distribution.v1`): the reference
 * is checked first (400, or 403 for `scratch`); failures before the first
 * progress message keep their status code, later ones go in-band.
 */
export async function imageCreate(ctx: ApiContext, store: ImageStore, host?: PluginHost): Promise<void> {
  const fromImage = queryString(ctx.query.fromImage);
  if (fromImage) return pull(ctx, store, fromImage, queryString(ctx.query.tag), host);
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

async function pull(ctx: ApiContext, store: ImageStore, fromImage: string, tag: string | undefined, host: PluginHost | undefined): Promise<void> {
  ctx.req.resume();
  // Validates as dockerd (400 bad reference, 403 scratch) and normalises.
  const normalised = store.pullReference(fromImage, tag);
  // No tag and none in the name (`docker pull -a`): every tag of the repository.
  const lastPart = fromImage.slice(fromImage.lastIndexOf('/') + 1);
  const allTags = !tag && !/[:@]./.test(lastPart);
  const dist = host?.tryCurrent<Distribution>(ExtensionPoint.Distribution);
  if (!dist) throw new NotImplementedError(`cannot pull ${normalised}: no registry client is active`);
  const progress = new LazyProgress(ctx);
  const target = allTags ? normalised.replace(/:[^:/@]+$/, '') : normalised;
  await progress.run(() => dist.pull(target, {
    auth: registryAuthHeader(ctx),
    platform: queryString(ctx.query.platform) || undefined,
    out: progress.event,
    signal: progress.signal,
  }));
}
