import { createHash } from 'node:crypto';
import { SystemError, type DistributionInspect, type RegistryAuth } from '../../kernel/index.js';
import { familiarName, type Reference } from '../image-store/reference.js';
import type { RegistryService } from './endpoints.js';
import { readBody } from './http-transport.js';
import { fetchManifest } from './pull.js';
import { translatePullError } from './pull-errors.js';
import { credentialsOf, type TokenCache } from './registry-auth.js';
import { PingError, RepoClient } from './repo-client.js';

/**
 * `GET /distribution/{name}/json`: the manifest's descriptor and the
 * platforms it serves (an index's entries, or an image config's own).
 */
export async function inspectRemote(service: RegistryService, cache: TokenCache, idleTimeoutMs: number, ref: Reference, auth: RegistryAuth): Promise<DistributionInspect> {
  const endpoints = await service.endpoints(ref.domain, false);
  let lastErr: Error | undefined;
  for (const ep of endpoints) {
    let client: RepoClient;
    try {
      client = await RepoClient.open(ep, ref.path, credentialsOf(auth), [`repository:${ref.path}:pull`], { cache, idleTimeoutMs });
    } catch (err) {
      lastErr = err instanceof PingError ? err.cause : err as Error;
      continue;
    }
    try {
      const m = await fetchManifest(client, ref.digest ?? ref.tag ?? 'latest', familiarName(ref));
      const out: DistributionInspect = {
        Descriptor: { mediaType: m.parsed.mediaType, digest: m.digest, size: m.body.length },
        Platforms: [],
      };
      if (m.parsed.kind === 'index') {
        for (const d of m.parsed.manifests) if (d.platform) out.Platforms.push(d.platform);
      } else {
        const res = await client.send('GET', client.url(`blobs/${m.parsed.config.digest}`));
        if (res.status < 200 || res.status >= 300) throw await RepoClient.errorOf(res);
        const body = await readBody(res.body, 8 << 20);
        if ('sha256:' + createHash('sha256').update(body).digest('hex') !== m.parsed.config.digest) {
          throw new SystemError(`image config verification failed for digest ${m.parsed.config.digest}`);
        }
        const cfg = JSON.parse(body.toString('utf8')) as { os?: string; architecture?: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] };
        const p: DistributionInspect['Platforms'][number] = { architecture: cfg.architecture ?? '', os: cfg.os ?? '' };
        if (cfg['os.version']) p['os.version'] = cfg['os.version'];
        if (cfg['os.features']?.length) p['os.features'] = cfg['os.features'];
        if (cfg.variant) p.variant = cfg.variant;
        out.Platforms.push(p);
      }
      return out;
    } catch (err) {
      throw translatePullError(err as Error, familiarName(ref), familiarName(ref) + (ref.tag ? `:${ref.tag}` : ''));
    }
  }
  throw new SystemError(lastErr?.message ?? 'no endpoints found');
}
