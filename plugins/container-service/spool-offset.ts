import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFile } from '../../kernel/index.js';

/**
 * How far the container service has read a running container's output
 * spool, kept in `<container dir>/spool.offset` so a restarted daemon logs
 * from there on (output made while it was down included). Written at most
 * every 200 ms: after a crash a few lines may be logged twice, never lost.
 *
 * Replaced by a rename, without fsync: a `kill -9` of the daemon finds the
 * old or the new value (the page cache is the kernel's). An fsync would
 * protect nothing more: the log the offset vouches for and the spool it
 * points into are not synced either (conmon runs with --no-sync-log, the
 * json-file log is not synced, as dockerd's), so after a power loss the
 * three are as old as the filesystem kept them, synced or not. And it cost
 * much: on ext4 each fsync (two, with the directory's) commits the journal,
 * which first writes back the dirty log and spool data of a chatty container,
 * a few hundred ms at the end of `docker run` of 50 MB, taken every 200 ms
 * while it ran and waited for when the task was deleted.
 */
export class SpoolOffset {
  private value = 0;
  private written = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  get file(): string {
    return join(this.dir, 'spool.offset');
  }

  static async read(dir: string): Promise<number> {
    const text = await readFile(join(dir, 'spool.offset'), 'utf8').catch(() => '0');
    const n = Number(text.trim());
    return Number.isInteger(n) && n >= 0 ? n : 0;
  }

  set(offset: number): void {
    this.value = offset;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 200);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      if (this.value === this.written) return;
      const v = this.value;
      await replaceFile(this.file, String(v), 0o600).catch(() => undefined);
      this.written = v;
    });
    await this.writing;
  }

  /** The task is gone: nothing is left to resume. */
  async remove(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    await rm(this.file, { force: true });
  }
}
