import {
  InvalidParameterError, type Distribution, type DistributionInspect, type ImageStore, type Logger, type PullOptions, type PushOptions, type RegistryAuth,
} from '../../kernel/index.js';
import { parseNormalizedNamed, pullReference } from '../image-store/reference.js';
import type { RegistryService } from './endpoints.js';
import { inspectRemote } from './inspect.js';
import { login } from './login.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { TokenCache } from './registry-auth.js';
import type { V2MetadataService } from './v2-metadata.js';

export interface ClientOptions {
  store: () => ImageStore;
  service: RegistryService;
  meta: V2MetadataService;
  log: Logger;
  maxDownloads: number;
  maxUploads: number;
  idleTimeoutMs: number;
  retryDelayMs: number;
  /** Shared across reloads, so tokens survive a SIGHUP. */
  cache: TokenCache;
}

/**
 * The `distribution.v1` provider: routes each operation to the file that
 * implements it. Configuration (mirrors, insecure registries, limits) is
 * fixed per instance; a SIGHUP that changes it builds a new instance, and
 * operations already running finish with the settings they started with.
 */
export class RegistryClient implements Distribution {
  constructor(private readonly opts: ClientOptions) {}

  async pull(image: string, opts: PullOptions): Promise<void> {
    const { ref, allTags } = parsePull(image);
    await pullImage({
      store: this.opts.store, service: this.opts.service, cache: this.opts.cache, meta: this.opts.meta,
      maxDownloads: this.opts.maxDownloads, idleTimeoutMs: this.opts.idleTimeoutMs, retryDelayMs: this.opts.retryDelayMs, log: this.opts.log,
    }, { ref, allTags }, opts);
  }

  async push(image: string, opts: PushOptions): Promise<void> {
    let ref = parseNormalizedNamed(image);
    if (opts.tag) ref = { ...ref, tag: opts.tag };
    await pushImage({
      store: this.opts.store, service: this.opts.service, cache: this.opts.cache, meta: this.opts.meta,
      maxUploads: this.opts.maxUploads, idleTimeoutMs: this.opts.idleTimeoutMs, log: this.opts.log,
    }, ref, opts);
  }

  login(auth: RegistryAuth): Promise<{ Status: string; IdentityToken: string }> {
    return login(this.opts.service, this.opts.cache, this.opts.idleTimeoutMs, auth);
  }

  inspect(image: string, auth: RegistryAuth): Promise<DistributionInspect> {
    const ref = parseNormalizedNamed(image);
    return inspectRemote(this.opts.service, this.opts.cache, this.opts.idleTimeoutMs, ref.tag || ref.digest ? ref : { ...ref, tag: 'latest' }, auth);
  }
}

/**
 * The pull reference: a name with a tag or digest pulls that; a bare name
 * (the CLI sends `fromImage=x&tag=` for `pull -a`, older ones `x:`) pulls
 * every tag.
 */
export function parsePull(image: string): { ref: ReturnType<typeof pullReference>; allTags: boolean } {
  const trimmed = image.replace(/:$/, '');
  const named = parseNormalizedNamed(trimmed);
  if (named.tag === undefined && named.digest === undefined) {
    const ref = pullReference(trimmed, undefined);
    return { ref: { ...ref, tag: undefined }, allTags: true };
  }
  if (named.path === 'scratch') throw new InvalidParameterError("'scratch' is a reserved name");
  return { ref: pullReference(trimmed, undefined), allTags: false };
}
