import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { InvalidParameterError, NotFoundError, SystemError, type ImageStore, type Logger, type PushOptions } from '../../kernel/index.js';
import { shortId } from '../image-store/digest.js';
import { familiarName, familiarString, refName, refString, type Reference } from '../image-store/reference.js';
import type { RegistryService } from './endpoints.js';
import type { HttpResponse } from './http-transport.js';
import { MT } from './media-types.js';
import { progressMeter } from './progress.js';
import { continueOnError } from './pull-errors.js';
import { credentialsOf, type TokenCache } from './registry-auth.js';
import { RegistryErrcode } from './registry-errors.js';
import { PingError, RepoClient } from './repo-client.js';
import type { V2MetadataService } from './v2-metadata.js';
import { Limiter } from './pull.js';
import { UnauthorizedError } from '../../kernel/index.js';

export interface PushDeps {
  store: () => ImageStore;
  service: RegistryService;
  cache: TokenCache;
  meta: V2MetadataService;
  maxUploads: number;
  idleTimeoutMs: number;
  log: Logger;
}

/**
 * distribution.Push: every tag of the reference (or the one given), over the
 * registry's push endpoints (never a mirror). Layers go up as gzip blobs;
 * a layer the registry has (HEAD), or another repository of it has (mount),
 * is not sent again; the compressed digest per diff ID is remembered (v2
 * metadata), so a second push of the same image gives the same manifest.
 */
export async function pushImage(deps: PushDeps, ref: Reference, opts: PushOptions): Promise<void> {
  const content = deps.store().content;
  const repo = refName(ref);
  opts.out({ status: `The push refers to repository [${repo}]`, message: true });
  if (content.tagsOf(repo).length === 0 && content.lookupRef(repo + ':' + (ref.tag ?? 'latest')) === undefined) {
    throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  }
  const endpoints = await deps.service.endpoints(ref.domain, false);
  const confirmedTls = new Set<string>();
  let lastErr: Error | undefined;
  for (const ep of endpoints) {
    if (ep.url.protocol === 'http:' && confirmedTls.has(ep.url.host)) continue;
    let client: RepoClient;
    try {
      client = await RepoClient.open(ep, ref.path, credentialsOf(opts.auth), [`repository:${ref.path}:push,pull`], {
        cache: deps.cache, idleTimeoutMs: deps.idleTimeoutMs, signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof PingError) { lastErr = err.cause; continue; }
      throw err;
    }
    try {
      await pushRepository(deps, client, ref, opts);
      return;
    } catch (err) {
      if (!opts.signal?.aborted && continueOnError(err as Error, false) && !(err instanceof InvalidParameterError) && !(err instanceof NotFoundError)) {
        if (ep.url.protocol === 'https:') confirmedTls.add(ep.url.host);
        lastErr = err as Error;
        continue;
      }
      throw translatePushError(err as Error);
    }
  }
  throw translatePushError(lastErr ?? new Error(`no endpoints found for ${repo}`));
}

function translatePushError(err: Error): Error {
  if (err instanceof RegistryErrcode && err.code === 'UNAUTHORIZED') return new UnauthorizedError(err.message);
  if (err instanceof PingError) return new SystemError(err.message);
  return err;
}

async function pushRepository(deps: PushDeps, client: RepoClient, ref: Reference, opts: PushOptions): Promise<void> {
  const content = deps.store().content;
  if (ref.digest !== undefined) throw new InvalidParameterError('cannot push a digest reference');
  if (ref.tag !== undefined) {
    const id = content.lookupRef(refString(ref));
    if (id === undefined) throw new NotFoundError(`tag does not exist: ${familiarString(ref)}`);
    await pushTag(deps, client, ref, id, opts);
    return;
  }
  const tags = content.tagsOf(refName(ref));
  if (tags.length === 0) throw new NotFoundError(`no tags to push for ${familiarName(ref)}`);
  for (const t of tags) {
    const tag = t.ref.slice(t.ref.lastIndexOf(':') + 1);
    await pushTag(deps, client, { ...ref, tag }, t.id, opts);
  }
}

interface Pushed { digest: string; size: number }

async function pushTag(deps: PushDeps, client: RepoClient, ref: Reference, imageId: string, opts: PushOptions): Promise<void> {
  const content = deps.store().content;
  const config = content.imageConfig(imageId);
  const layers = content.holdImageLayers(imageId);
  try {
    // Top layer first, as dockerd's descriptors (its progress lines come in that order).
    const order = [...layers].reverse();
    for (const l of order) opts.out({ id: shortId(l.diffId), status: 'Preparing' });
    const limit = new Limiter(Math.max(1, deps.maxUploads || 5));
    let queued = 0;
    const results = new Map<string, Promise<Pushed>>();
    for (const l of order) {
      if (results.has(l.diffId)) continue;
      if (queued++ >= limit.max) opts.out({ id: shortId(l.diffId), status: 'Waiting' });
      const p = limit.run(() => pushLayer(deps, client, refName(ref), l, opts));
      p.catch(() => {});
      results.set(l.diffId, p);
    }
    const pushed: Pushed[] = [];
    for (const l of layers) pushed.push(await results.get(l.diffId)!);
    const configDigest = 'sha256:' + createHash('sha256').update(config).digest('hex');
    if (!(await blobExists(client, configDigest))) await uploadMonolithic(client, config, configDigest);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.dockerManifest,
      config: { mediaType: MT.dockerConfig, size: config.length, digest: configDigest },
      layers: pushed.map((p) => ({ mediaType: MT.dockerLayer, size: p.size, digest: p.digest })),
    }, null, 3));
    const res = await client.send('PUT', client.url(`manifests/${ref.tag}`), { headers: { 'Content-Type': MT.dockerManifest }, body: manifest });
    await expect(res, [201, 200, 202]);
    const digest = 'sha256:' + createHash('sha256').update(manifest).digest('hex');
    opts.out({ status: `${ref.tag}: digest: ${digest} size: ${manifest.length}`, message: true });
    const dref = refString({ domain: ref.domain, path: ref.path, digest });
    if (content.lookupRef(dref) === undefined) await content.commitImage(config, { digestRef: dref }).catch(() => {});
    opts.out({ status: '', aux: { Tag: ref.tag, Digest: digest, Size: manifest.length } });
  } finally {
    for (const l of layers) await content.releaseLayer(l.chainId).catch(() => {});
  }
}

async function expect(res: HttpResponse, ok: number[]): Promise<void> {
  if (ok.includes(res.status)) { res.body.resume(); return; }
  throw await RepoClient.errorOf(res);
}

async function blobExists(client: RepoClient, digest: string): Promise<boolean> {
  const res = await client.send('HEAD', client.url(`blobs/${digest}`));
  res.body.resume();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await RepoClient.errorOf(res);
}

/** pushDescriptor.Upload: existence checks, a mount, or a gzip upload. */
async function pushLayer(deps: PushDeps, client: RepoClient, repoName: string, l: { chainId: string; diffId: string }, opts: PushOptions): Promise<Pushed> {
  const content = deps.store().content;
  const id = shortId(l.diffId);
  const meta = await deps.meta.getMetadata(l.diffId);
  const domain = repoName.slice(0, repoName.indexOf('/'));
  // Known digests for this layer: in this repository first, then others of the same registry.
  for (const m of [...meta].reverse()) {
    if (m.SourceRepository.startsWith(`${domain}/`) && pathOf(m.SourceRepository) === client.path) {
      const size = await blobSize(client, m.Digest);
      if (size !== undefined) {
        opts.out({ id, status: 'Layer already exists' });
        return { digest: m.Digest, size };
      }
    }
  }
  let session: URL | undefined;
  for (const m of [...meta].reverse()) {
    if (!m.SourceRepository.startsWith(`${domain}/`) || pathOf(m.SourceRepository) === client.path) continue;
    const from = pathOf(m.SourceRepository);
    const url = client.url(`blobs/uploads/?mount=${encodeURIComponent(m.Digest)}&from=${encodeURIComponent(from)}`);
    const res = await client.send('POST', url, { body: Buffer.alloc(0) });
    res.body.resume();
    if (res.status === 201) {
      const size = await blobSize(client, m.Digest);
      await deps.meta.add(l.diffId, { digest: m.Digest, repo: repoName });
      opts.out({ id, status: `Mounted from ${from}` });
      return { digest: m.Digest, size: size ?? 0 };
    }
    if (res.status === 202 && res.headers.location) { session = new URL(res.headers.location, client.endpoint.url); break; }
  }
  // Upload: gzip of the layer tar, streamed in one PATCH, then committed with its digest.
  if (!session) {
    const res = await client.send('POST', client.url('blobs/uploads/'), { body: Buffer.alloc(0) });
    if (res.status !== 202 || !res.headers.location) throw await RepoClient.errorOf(res);
    res.body.resume();
    session = new URL(res.headers.location, client.endpoint.url);
  }
  const { stream, size: tarSize } = await content.layerTar(l.chainId);
  const meter = progressMeter(opts.out, id, 'Pushing', tarSize);
  const gzip = createGzip({ level: 6 });
  const hash = createHash('sha256');
  let compressed = 0;
  const counter = new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); compressed += c.length; cb(null, c); } });
  stream.on('error', (e) => counter.destroy(e));
  stream.pipe(meter).pipe(gzip).pipe(counter);
  const patch = await client.send('PATCH', session, { headers: { 'Content-Type': 'application/octet-stream' }, body: counter as Readable });
  if (patch.status !== 202 && patch.status !== 204) throw await RepoClient.errorOf(patch);
  patch.body.resume();
  const digest = 'sha256:' + hash.digest('hex');
  const put = new URL(patch.headers.location ?? session.href, client.endpoint.url);
  put.searchParams.set('digest', digest);
  const done = await client.send('PUT', put, { body: Buffer.alloc(0) });
  await expect(done, [201, 204]);
  await deps.meta.add(l.diffId, { digest, repo: repoName });
  opts.out({ id, status: 'Pushed' });
  return { digest, size: compressed };
}

async function uploadMonolithic(client: RepoClient, body: Buffer, digest: string): Promise<void> {
  const res = await client.send('POST', client.url('blobs/uploads/'), { body: Buffer.alloc(0) });
  if (res.status !== 202 || !res.headers.location) throw await RepoClient.errorOf(res);
  res.body.resume();
  const put = new URL(res.headers.location, client.endpoint.url);
  put.searchParams.set('digest', digest);
  const done = await client.send('PUT', put, { headers: { 'Content-Type': 'application/octet-stream' }, body });
  await expect(done, [201, 204]);
}

async function blobSize(client: RepoClient, digest: string): Promise<number | undefined> {
  const res = await client.send('HEAD', client.url(`blobs/${digest}`));
  res.body.resume();
  if (res.status === 200) return Number(res.headers['content-length']) || 0;
  if (res.status === 404) return undefined;
  throw await RepoClient.errorOf(res);
}

function pathOf(source: string): string {
  return source.slice(source.indexOf('/') + 1);
}
