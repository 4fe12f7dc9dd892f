import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError, NotFoundError, type ImageStore, type Logger, type PullOptions } from '../../kernel/index.js';
import { decompressStream } from '../image-store/decompress.js';
import { chainIds, shortId } from '../image-store/digest.js';
import { checkOs, diffIdsOf, parseImageConfig } from '../image-store/image-config.js';
import { DiffIdMismatchError } from '../image-store/layer-store.js';
import { hostPlatform, parsePlatform, type Platform } from '../image-store/platform.js';
import { familiarName, familiarString, refName, refString, type Reference } from '../image-store/reference.js';
import type { Endpoint, RegistryService } from './endpoints.js';
import { readBody, TransportError, type HttpResponse } from './http-transport.js';
import { MANIFEST_ACCEPT, IMAGE_CONFIG_TYPES, isSupportedMediaType, MT } from './media-types.js';
import { parseManifest, type Descriptor, type ParsedManifest } from './manifest-parse.js';
import { formatPlatform, selectManifests } from './platform-select.js';
import { progressMeter } from './progress.js';
import { ConfigPullError, continueOnError, DoNotRetry, retryable, translatePullError } from './pull-errors.js';
import { credentialsOf, type TokenCache } from './registry-auth.js';
import { PingError, RepoClient } from './repo-client.js';
import type { V2MetadataService } from './v2-metadata.js';

/** A manifest larger than this is refused (containerd's and distribution's 4 MiB limit). */
export const MAX_MANIFEST_BYTES = 4 << 20;
/** Image configs are small; this bounds memory against a hostile registry. */
const MAX_CONFIG_BYTES = 8 << 20;
/** xfer.maxDownloadAttempts. */
const MAX_DOWNLOAD_ATTEMPTS = 5;

export interface PullDeps {
  store: () => ImageStore;
  service: RegistryService;
  cache: TokenCache;
  meta: V2MetadataService;
  maxDownloads: number;
  idleTimeoutMs: number;
  /** First retry delay (dockerd: 5 s, growing by 5 s per attempt). */
  retryDelayMs: number;
  log: Logger;
}

export interface PullRequest {
  ref: Reference;
  allTags: boolean;
}

/**
 * distribution.Pull: tries each endpoint (mirrors, then the registry;
 * HTTPS, then HTTP where allowed) until one serves the image or fails in a
 * way that must not fall back.
 */
export async function pullImage(deps: PullDeps, req: PullRequest, opts: PullOptions): Promise<void> {
  const { ref } = req;
  const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
  if (platform) checkOs(platform.os);
  const endpoints = await deps.service.endpoints(ref.domain, true);
  const confirmedTls = new Set<string>();
  let lastErr: Error | undefined;
  for (const ep of endpoints) {
    if (ep.url.protocol === 'http:' && confirmedTls.has(ep.url.host)) continue;
    try {
      await pullFrom(deps, ep, req, platform, opts);
      return;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (err instanceof PingError) {
        lastErr = err.cause instanceof TransportError ? err.cause : err;
        if (err.transportOk && ep.url.protocol === 'https:') confirmedTls.add(ep.url.host);
        deps.log.info('registry endpoint unreachable, trying the next', { endpoint: ep.url.href, error: err.message });
        continue;
      }
      if (err instanceof FallbackError) {
        lastErr = err.err;
        if (ep.url.protocol === 'https:') confirmedTls.add(ep.url.host);
        deps.log.info('pull from endpoint failed, trying the next', { endpoint: ep.url.href, error: err.message });
        continue;
      }
      throw translatePullError(err as Error, familiarName(ref), familiarString(ref));
    }
  }
  throw translatePullError(lastErr ?? new Error(`no endpoints found for ${familiarString(ref)}`), familiarName(ref), familiarString(ref));
}

class FallbackError extends Error {
  constructor(readonly err: Error) {
    super(err.message);
  }
}

async function pullFrom(deps: PullDeps, ep: Endpoint, req: PullRequest, platform: Platform | undefined, opts: PullOptions): Promise<void> {
  const path = req.ref.path;
  const client = await RepoClient.open(ep, path, credentialsOf(ep.mirror ? {} : opts.auth), [`repository:${path}:pull`], {
    cache: deps.cache, idleTimeoutMs: deps.idleTimeoutMs, signal: opts.signal,
  });
  try {
    if (req.allTags) {
      const tags = await listTags(client);
      let updated = false;
      for (const tag of tags) {
        if (await pullTag(deps, client, { ...req.ref, tag, digest: undefined }, platform, opts)) updated = true;
      }
      writeStatus(opts, familiarName(req.ref), updated);
      return;
    }
    const updated = await pullTag(deps, client, req.ref, platform, opts);
    writeStatus(opts, familiarString(req.ref), updated);
  } catch (err) {
    if (!opts.signal?.aborted && continueOnError(err as Error, ep.mirror)) throw new FallbackError(err as Error);
    throw err;
  }
}

function writeStatus(opts: PullOptions, requested: string, updated: boolean): void {
  opts.out({ status: updated ? `Status: Downloaded newer image for ${requested}` : `Status: Image is up to date for ${requested}`, message: true });
}

async function listTags(client: RepoClient): Promise<string[]> {
  const res = await client.send('GET', client.url('tags/list'));
  if (res.status < 200 || res.status >= 300) throw await RepoClient.errorOf(res);
  const doc = JSON.parse((await readBody(res.body, MAX_MANIFEST_BYTES)).toString('utf8')) as { tags?: string[] };
  return doc.tags ?? [];
}

/** Fetches a manifest by tag or digest; verifies a digest reference. */
export async function fetchManifest(client: RepoClient, reference: string, familiar: string): Promise<{ body: Buffer; digest: string; parsed: ParsedManifest }> {
  const accept = { Accept: MANIFEST_ACCEPT.join(', ') };
  if (!reference.startsWith('sha256:')) {
    // tags.Get: HEAD for the digest, then the manifest by digest (verified); a
    // failed HEAD is repeated as GET to read the registry's error.
    const head = await client.send('HEAD', client.url(`manifests/${reference}`), { headers: accept });
    head.body.resume();
    const d = head.headers['docker-content-digest'];
    if (head.status >= 200 && head.status < 400 && typeof d === 'string' && /^sha256:[a-f0-9]{64}$/.test(d)) {
      return fetchManifest(client, d, familiar);
    }
  }
  const res = await client.send('GET', client.url(`manifests/${reference}`), { headers: accept });
  if (res.status < 200 || res.status >= 300) throw await RepoClient.errorOf(res);
  const declared = Number(res.headers['content-length']);
  if (declared > MAX_MANIFEST_BYTES) {
    res.body.destroy();
    throw new DoNotRetry(new InvalidParameterError(`manifest too large: ${declared} bytes exceeds the limit of ${MAX_MANIFEST_BYTES} bytes`));
  }
  const body = await readBody(res.body, MAX_MANIFEST_BYTES, () => new DoNotRetry(new InvalidParameterError(`manifest too large: exceeds the limit of ${MAX_MANIFEST_BYTES} bytes`)));
  const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new DoNotRetry(new Error(`manifest verification failed for digest ${reference}`));
  }
  return { body, digest, parsed: parseManifest(body, res.headers['content-type'], familiar) };
}

/** pullTag: returns whether the reference now points at a different image. */
async function pullTag(deps: PullDeps, client: RepoClient, ref: Reference, platform: Platform | undefined, opts: PullOptions): Promise<boolean> {
  const tagOrDigest = ref.digest ?? ref.tag!;
  const { digest: topDigest, parsed } = await fetchManifest(client, tagOrDigest, familiarName(ref));
  if (parsed.kind === 'image' && !IMAGE_CONFIG_TYPES.includes(parsed.config.mediaType as never)) {
    throw new InvalidParameterError(`Encountered remote "${parsed.config.mediaType}"(${parsed.config.mediaType === 'application/vnd.docker.plugin.v1+json' ? 'plugin' : 'unknown'}) when fetching`);
  }
  opts.out({ id: tagOrDigest, status: `Pulling from ${client.path}`, message: true });
  let image: Extract<ParsedManifest, { kind: 'image' }>;
  let wanted = platform;
  if (parsed.kind === 'index') {
    const want = platform ?? hostPlatform();
    const matches = selectManifests(parsed.manifests, want);
    let chosen: Extract<ParsedManifest, { kind: 'image' }> | undefined;
    for (const m of matches) {
      const child = await fetchManifest(client, m.digest, familiarName(ref));
      if (child.parsed.kind !== 'image') continue;
      chosen = child.parsed;
      wanted = platform ?? undefined;
      break;
    }
    if (!chosen) throw new DoNotRetry(new NotFoundError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`));
    image = chosen;
  } else {
    image = parsed;
  }
  const tag = ref.digest === undefined ? refString(ref) : undefined;
  const digestRef = refString({ domain: ref.domain, path: ref.path, digest: topDigest });
  const { updated } = await pullLayers(deps, client, image, wanted, opts, refName(ref), { tag, digestRef });
  opts.out({ status: `Digest: ${topDigest}`, message: true });
  return updated;
}

/**
 * pullSchema2Layers: the config, then the layers not present (downloads in
 * parallel up to max-concurrent-downloads, registration in order), then the
 * image. Everything taken is released on failure, so a failed or cancelled
 * pull leaves neither an image nor orphan layers.
 */
async function pullLayers(
  deps: PullDeps, client: RepoClient, m: Extract<ParsedManifest, { kind: 'image' }>, platform: Platform | undefined, opts: PullOptions, repoName: string,
  refs: { tag?: string; digestRef: string },
): Promise<{ updated: boolean }> {
  const store = deps.store();
  const content = store.content;
  const imageId = m.config.digest;
  // The image exists locally: nothing to fetch (its layers exist with it).
  if (await store.get(imageId).then(() => true, () => false)) {
    return content.commitImage(content.imageConfig(imageId), refs);
  }
  if (!isSupportedMediaType(m.config.mediaType)) throw new DoNotRetry(new InvalidParameterError(`unsupported media type ${m.config.mediaType}`));
  for (const l of m.layers) {
    if (!isSupportedMediaType(l.mediaType)) throw new DoNotRetry(new InvalidParameterError(`unsupported media type ${l.mediaType}`));
  }
  const raw = await fetchConfig(client, m.config.digest).catch((err) => { throw new ConfigPullError(err as Error); });
  const config = parseImageConfig(raw);
  checkOs(config.os);
  if (platform && (config.os !== platform.os || (config.architecture && config.architecture !== platform.architecture))) {
    throw new DoNotRetry(new NotFoundError(`image with reference ${repoName} was found but does not match the specified platform: wanted ${formatPlatform(platform)}, actual: ${formatPlatform({ os: config.os ?? '', architecture: config.architecture ?? '', variant: config.variant })}`));
  }
  const diffs = diffIdsOf(config);
  if (diffs.length !== m.layers.length) throw new DoNotRetry(new Error("layers from manifest don't match image configuration"));
  const chain = chainIds(diffs);
  const held: string[] = [];
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onOuterAbort);
  const temps: string[] = [];
  const downloads = new Map<string, Promise<{ path: string; size: number }>>();
  try {
    // Layers present from the bottom up are reused ("Already exists").
    let present = 0;
    while (present < m.layers.length && content.holdLayer(chain[present]!)) {
      held.push(chain[present]!);
      opts.out({ id: shortId(m.layers[present]!.digest), status: 'Already exists' });
      present++;
    }
    const todo = m.layers.slice(present);
    const seen = new Set<string>();
    for (const l of todo) {
      if (seen.has(l.digest)) continue;
      seen.add(l.digest);
      opts.out({ id: shortId(l.digest), status: 'Pulling fs layer' });
    }
    const limit = new Limiter(Math.max(1, deps.maxDownloads || 3));
    let queued = 0;
    for (const l of todo) {
      if (downloads.has(l.digest)) continue;
      if (queued++ >= limit.max) opts.out({ id: shortId(l.digest), status: 'Waiting' });
      const path = join(content.tmpDir, `GetImageBlob-${randomBytes(8).toString('hex')}`);
      temps.push(path);
      const p = limit.run(() => downloadLayer(deps, client, l, path, opts, abort.signal));
      p.catch(() => abort.abort());
      downloads.set(l.digest, p);
    }
    let parent = present === 0 ? null : chain[present - 1]!;
    for (let i = present; i < m.layers.length; i++) {
      const l = m.layers[i]!;
      const { path, size } = await downloads.get(l.digest)!;
      const id = shortId(l.digest);
      const meter = progressMeter(opts.out, id, 'Extracting', size);
      const file = createReadStream(path, { highWaterMark: 1 << 20 });
      file.on('error', (err) => meter.destroy(err));
      file.pipe(meter);
      let chainId: string;
      try {
        chainId = await content.registerLayer(await unpacked(meter, l.mediaType), parent, diffs[i]!);
      } catch (err) {
        if (err instanceof DiffIdMismatchError) throw new DoNotRetry(new Error("layers from manifest don't match image configuration"));
        throw err;
      }
      held.push(chainId);
      parent = chainId;
      await deps.meta.add(diffs[i]!, { digest: l.digest, repo: repoName }).catch(() => {});
      opts.out({ id, status: 'Pull complete' });
    }
    return await content.commitImage(raw, refs);
  } catch (err) {
    abort.abort();
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    for (const c of held.reverse()) await content.releaseLayer(c).catch(() => {});
    // A download still running when another failed (or the client left) is aborted, but its
    // temp file may not be opened yet: removed now, it would be created after the removal and
    // stay. Each aborted download settles as soon as its streams are closed.
    await Promise.allSettled(downloads.values());
    for (const t of temps) await rm(t, { force: true }).catch(() => {});
  }
}

/**
 * The layer's tar: gzip media types are inflated here with large output
 * chunks (zlib's 16 KiB default means many small writes downstream); other
 * types are sniffed (zstd through the host's `zstd`, as image-store does).
 */
async function unpacked(input: Readable, mediaType: string): Promise<Readable> {
  if (mediaType === MT.dockerLayer || mediaType === MT.ociLayerGzip || mediaType === MT.dockerForeignLayer) {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    input.on('error', (err) => gunzip.destroy(err));
    gunzip.on('error', () => { /* the consumer hears it */ });
    return input.pipe(gunzip);
  }
  return decompressStream(input);
}

async function fetchConfig(client: RepoClient, digest: string): Promise<Buffer> {
  const res = await client.send('GET', client.url(`blobs/${digest}`));
  if (res.status < 200 || res.status >= 300) throw await RepoClient.errorOf(res);
  const body = await readBody(res.body, MAX_CONFIG_BYTES);
  if ('sha256:' + createHash('sha256').update(body).digest('hex') !== digest) {
    throw new DoNotRetry(new Error(`image config verification failed for digest ${digest}`));
  }
  return body;
}

/** layerDescriptor.Download with xfer's retries: the blob into a temp file, checked against its digest. */
async function downloadLayer(deps: PullDeps, client: RepoClient, l: Descriptor, path: string, opts: PullOptions, signal: AbortSignal): Promise<{ path: string; size: number }> {
  const id = shortId(l.digest);
  for (let attempt = 1; ; attempt++) {
    try {
      return await downloadOnce(client, l, path, opts, signal);
    } catch (err) {
      if (signal.aborted || !retryable(err as Error) || attempt >= MAX_DOWNLOAD_ATTEMPTS) throw err;
      deps.log.warn('layer download failed, retrying', { digest: l.digest, attempt, error: (err as Error).message });
      const delayS = Math.round((attempt * deps.retryDelayMs) / 1000);
      for (let s = delayS; s > 0; s--) {
        opts.out({ id, status: `Retrying in ${s} second${s === 1 ? '' : 's'}` });
        await sleep(Math.min(1000, (attempt * deps.retryDelayMs) / Math.max(1, delayS)), signal);
      }
      if (delayS === 0) await sleep(attempt * deps.retryDelayMs, signal);
    }
  }
}

async function downloadOnce(client: RepoClient, l: Descriptor, path: string, opts: PullOptions, signal: AbortSignal): Promise<{ path: string; size: number }> {
  const id = shortId(l.digest);
  // A download queued behind the limit starts after the pull was cancelled: it must not begin.
  if (signal.aborted) throw new Error('context canceled');
  let res;
  // Foreign layers name where they live; dockerd tries those URLs before the registry.
  const sources = (l.mediaType === MT.dockerForeignLayer ? l.urls ?? [] : []).filter((u) => /^https?:\/\//.test(u)).map((u) => new URL(u));
  sources.push(client.url(`blobs/${l.digest}`));
  let lastErr: Error | undefined;
  for (const url of sources) {
    try {
      res = await untilAborted(url.pathname.startsWith(`/v2/${client.path}/blobs/`) && url.host === client.endpoint.url.host
        ? client.send('GET', url)
        : (await import('./http-transport.js')).request(url, { signal }), signal);
      if (res.status >= 200 && res.status < 300) break;
      lastErr = await RepoClient.errorOf(res);
      res = undefined;
    } catch (err) {
      lastErr = err as Error;
    }
  }
  if (!res) throw lastErr ?? new Error(`cannot fetch blob ${l.digest}`);
  if (signal.aborted) { res.body.destroy(); throw new Error('context canceled'); }
  const body = res.body;
  const onAbort = () => body.destroy(new Error('context canceled'));
  signal.addEventListener('abort', onAbort);
  try {
    // The temp file exists before the first "Downloading" is reported, as dockerd creates it
    // before its progress reader: whoever sees the progress (a client that then hangs up)
    // can rely on the file being there until the pull's cleanup removes it.
    const file = await openTemp(path).catch((err: unknown) => { body.destroy(); throw err; });
    if (signal.aborted) { body.destroy(); await new Promise<void>((r) => file.destroy().once('close', () => r())); throw new Error('context canceled'); }
    const total = Number(res.headers['content-length']) || l.size || 0;
    const hash = createHash('sha256');
    const meter = progressMeter(opts.out, id, 'Downloading', total);
    let size = 0;
    meter.on('data', (c: Buffer) => { hash.update(c); size += c.length; });
    await pipeline(body, meter, file);
    opts.out({ id, status: 'Verifying Checksum' });
    if ('sha256:' + hash.digest('hex') !== l.digest) throw new DoNotRetry(new Error(`filesystem layer verification failed for digest ${l.digest}`));
    opts.out({ id, status: 'Download complete' });
    return { path, size };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || /aborted/.test(e.message)) throw new Error('unexpected EOF');
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A write stream on `path` (created or truncated), resolved once the file is open. */
function openTemp(path: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const file = createWriteStream(path);
    file.once('open', () => { file.off('error', reject); resolve(file); });
    file.once('error', reject);
  });
}

/**
 * Waits for a registry request unless the pull is cancelled first (a sibling download
 * failed: the request itself only listens to the client's signal). A response that
 * arrives after the cancellation is discarded.
 */
function untilAborted(p: Promise<HttpResponse>, signal: AbortSignal): Promise<HttpResponse> {
  if (signal.aborted) {
    p.then((r) => r.body.destroy(), () => {});
    return Promise.reject(new Error('context canceled'));
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      p.then((r) => r.body.destroy(), () => {});
      reject(new Error('context canceled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((r) => { signal.removeEventListener('abort', onAbort); resolve(r); }, (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err); });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('context canceled'));
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new Error('context canceled')); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** At most `max` tasks at a time, started in submission order. */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
