import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../kernel/index.js';

/**
 * dockerd's v2 metadata service (distribution/metadata): which compressed
 * blob digest a layer (diff ID) has in which repository, and back. A pull
 * records it for each layer it registers; a push reuses it so a layer is
 * not compressed and uploaded again (HEAD finds it, or a cross-repository
 * mount copies it) and so pushing twice gives the same manifest digest.
 *
 * Layout as dockerd's, under `<data-root>/image/<driver>/distribution/`:
 *   diffid-by-digest/sha256/<blob hex>       "sha256:<diff id>"
 *   v2metadata-by-diffid/sha256/<diff hex>   [{"Digest","SourceRepository","HMAC"}]
 */
export interface V2Metadata {
  Digest: string;
  SourceRepository: string;
  HMAC: string;
}

export class V2MetadataService {
  constructor(private readonly root: string) {}

  private path(kind: string, digest: string): string {
    return join(this.root, kind, 'sha256', digest.slice('sha256:'.length));
  }

  async getDiffId(blobDigest: string): Promise<string | undefined> {
    return (await readFile(this.path('diffid-by-digest', blobDigest), 'utf8').catch(() => '')).trim() || undefined;
  }

  async getMetadata(diffId: string): Promise<V2Metadata[]> {
    try {
      const list = JSON.parse(await readFile(this.path('v2metadata-by-diffid', diffId), 'utf8')) as V2Metadata[];
      return Array.isArray(list) ? list : [];
    } catch {
      return [];
    }
  }

  /** Adds (or moves to the front) one blob/repository pair for a diff ID. */
  async add(diffId: string, meta: { digest: string; repo: string }): Promise<void> {
    const list = (await this.getMetadata(diffId)).filter((m) => !(m.Digest === meta.digest && m.SourceRepository === meta.repo));
    list.push({ Digest: meta.digest, SourceRepository: meta.repo, HMAC: '' });
    // dockerd keeps at most 50 entries per diff ID.
    while (list.length > 50) list.shift();
    const a = this.path('v2metadata-by-diffid', diffId);
    const b = this.path('diffid-by-digest', meta.digest);
    await mkdir(join(a, '..'), { recursive: true });
    await mkdir(join(b, '..'), { recursive: true });
    await writeFileAtomic(a, JSON.stringify(list), 0o600);
    await writeFileAtomic(b, diffId, 0o600);
  }

  async remove(diffId: string, digest: string): Promise<void> {
    const list = (await this.getMetadata(diffId)).filter((m) => m.Digest !== digest);
    const a = this.path('v2metadata-by-diffid', diffId);
    await mkdir(join(a, '..'), { recursive: true });
    await writeFileAtomic(a, JSON.stringify(list), 0o600);
  }
}
