import { join } from 'node:path';
import { definePlugin, ExtensionPoint, type Distribution, type ImageStore } from '../../kernel/index.js';
import { DEFAULT_OFFICIAL_ENDPOINT, RegistryService } from './endpoints.js';
import { TokenCache } from './registry-auth.js';
import { RegistryClient } from './registry-client.js';
import { V2MetadataService } from './v2-metadata.js';

export interface RegistryClientSettings {
  /** Where per-registry CA and client certificates live, searched in order (dockerd's certs.d layout). */
  certsDirs: string[];
  /** Docker Hub's registry endpoint. */
  officialEndpoint: string;
  /** A registry connection idle this long fails (dockerd has no such limit; a stalled pull would hang). */
  idleTimeoutMs: number;
  /** First delay before retrying a failed layer download (dockerd: 5 s, then 10 s, …). */
  retryDelayMs: number;
}

/** Tokens outlive reloads: the cache is per daemon, not per instance. */
const tokens = new TokenCache();

/**
 * The registry client: `docker pull`, `push`, `login` and
 * `/distribution/{name}/json` against Registry API v2 registries, with
 * dockerd's `registry-mirrors`, `insecure-registries` and download/upload
 * limits, all reloaded on SIGHUP (swap `live`: running pulls keep the
 * instance they started on).
 */
export default definePlugin<Distribution, RegistryClientSettings>({
  id: 'registry-client',
  point: ExtensionPoint.Distribution,
  name: 'registry-v2',
  description: 'Pull, push and login against Registry API v2 registries (mirrors, insecure registries)',
  requires: [ExtensionPoint.ImageStore],
  daemonKeys: ['registry-mirrors', 'insecure-registries', 'max-concurrent-downloads', 'max-concurrent-uploads'],
  swap: 'live',
  defaults: () => ({
    certsDirs: ['/etc/berth/certs.d', '/etc/docker/certs.d'],
    officialEndpoint: DEFAULT_OFFICIAL_ENDPOINT,
    idleTimeoutMs: 120_000,
    retryDelayMs: 5_000,
  }),
  activate(ctx) {
    const store = () => ctx.host.current<ImageStore>(ExtensionPoint.ImageStore);
    const service = new RegistryService({
      mirrors: ctx.daemon['registry-mirrors'] ?? [],
      insecure: ctx.daemon['insecure-registries'] ?? [],
      certsDirs: ctx.config.certsDirs,
      officialEndpoint: ctx.config.officialEndpoint,
    });
    return new RegistryClient({
      store,
      service,
      meta: new V2MetadataService(join(ctx.paths.dataRoot, 'image', store().driverName, 'distribution')),
      log: ctx.log,
      maxDownloads: ctx.daemon['max-concurrent-downloads'] ?? 3,
      maxUploads: ctx.daemon['max-concurrent-uploads'] ?? 5,
      idleTimeoutMs: ctx.config.idleTimeoutMs,
      retryDelayMs: ctx.config.retryDelayMs,
      cache: tokens,
    });
  },
});
