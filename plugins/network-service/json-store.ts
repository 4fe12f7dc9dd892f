import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type Logger } from '../../kernel/index.js';

/** One JSON file per key in a directory, written atomically (survives kill -9 whole or not at all). */
export class JsonStore<T> {
  constructor(private readonly dir: string, private readonly log: Logger) {}

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

  save(key: string, value: T): Promise<void> {
    return writeFileAtomic(join(this.dir, `${key}.json`), JSON.stringify(value));
  }

  delete(key: string): Promise<void> {
    return rm(join(this.dir, `${key}.json`), { force: true });
  }
}
