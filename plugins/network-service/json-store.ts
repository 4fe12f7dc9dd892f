import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type Logger } from '../../kernel/index.js';

/**
 * One JSON file per key in a directory, written atomically (survives kill -9
 * whole or not at all). `durable: false` skips the fsyncs: a rename is
 * atomic against a killed process without them, and what such a store holds
 * (running containers' sandboxes) is re-checked at every start anyway, so
 * the container start path does not wait for the disk.
 */
export class JsonStore<T> {
  constructor(private readonly dir: string, private readonly log: Logger, private readonly durable = true) {}

  async loadAll(): Promise<T[]> {
    await mkdir(this.dir, { recursive: true });
    const out: T[] = [];
    for (const f of await readdir(this.dir)) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, f), 'utf8')) as T);
      } catch (err) {
        this.log.warn('ignoring an unreadable network state file', { file: join(this.dir, f), error: err });
      }
    }
    return out;
  }

  async save(key: string, value: T): Promise<void> {
    const path = join(this.dir, `${key}.json`);
    if (this.durable) return writeFileAtomic(path, JSON.stringify(value));
    const tmp = join(this.dir, `.${key}.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  }

  delete(key: string): Promise<void> {
    return rm(join(this.dir, `${key}.json`), { force: true });
  }
}
