import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type ImageConfig, type Logger } from '../../kernel/index.js';
import { hexOf, sha256 } from './digest.js';
import { parseImageConfig } from './image-config.js';

/**
 * dockerd's imagedb (image/fs.go) under `<data-root>/image/<driver>/imagedb/`:
 *
 *   content/sha256/<id hex>               the config bytes, exactly as received or written
 *   metadata/sha256/<id hex>/parent       "sha256:<parent image id>"
 *   metadata/sha256/<id hex>/lastUpdated  RFC 3339 time of the last tag
 *
 * The ID is the digest of the stored bytes, checked again when loading, so a
 * torn or tampered file is skipped rather than served under a wrong ID.
 * Files are written atomically (temp file, fsync, rename).
 */
export interface StoredImage {
  id: string;
  raw: Buffer;
  config: ImageConfig;
}

export class ImageDb {
  private constructor(private readonly root: string, private readonly log: Logger) {}

  static async open(root: string, log: Logger): Promise<ImageDb> {
    await Promise.all(['content', 'metadata'].map((d) => mkdir(join(root, d, 'sha256'), { recursive: true, mode: 0o700 })));
    return new ImageDb(root, log);
  }

  /** Every readable image whose bytes still hash to its name. */
  async loadAll(): Promise<StoredImage[]> {
    const out: StoredImage[] = [];
    const dir = join(this.root, 'content', 'sha256');
    for (const name of await readdir(dir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      try {
        const raw = await readFile(join(dir, name));
        const id = sha256(raw);
        if (id !== `sha256:${name}`) throw new Error(`content digest is ${id}`);
        out.push({ id, raw, config: parseImageConfig(raw) });
      } catch (err) {
        this.log.error('invalid image', { digest: `sha256:${name}`, error: err });
      }
    }
    return out;
  }

  async create(raw: Buffer): Promise<string> {
    const id = sha256(raw);
    await writeFileAtomic(this.contentPath(id), raw, 0o600);
    return id;
  }

  async delete(id: string): Promise<void> {
    await rm(this.contentPath(id), { force: true });
    await rm(this.metaDir(id), { recursive: true, force: true });
  }

  async getMetadata(id: string, key: 'parent' | 'lastUpdated'): Promise<string | null> {
    try {
      return (await readFile(join(this.metaDir(id), key), 'utf8')).trim() || null;
    } catch {
      return null;
    }
  }

  async setMetadata(id: string, key: 'parent' | 'lastUpdated', value: string): Promise<void> {
    await mkdir(this.metaDir(id), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.metaDir(id), key), value, 0o600);
  }

  async deleteMetadata(id: string, key: 'parent' | 'lastUpdated'): Promise<void> {
    await rm(join(this.metaDir(id), key), { force: true });
  }

  private contentPath(id: string): string {
    return join(this.root, 'content', 'sha256', hexOf(id));
  }

  private metaDir(id: string): string {
    return join(this.root, 'metadata', 'sha256', hexOf(id));
  }
}
