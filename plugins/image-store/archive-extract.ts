import { closeSync, constants, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { InvalidParameterError } from '../../kernel/index.js';
import { cleanEntryName as cleanRelative } from '../graph-common/scoped-path.js';
import { parseTarStream, type TarEntryHandler } from '../graph-common/tar-parser.js';
import type { TarHeader } from '../graph-common/tar-types.js';

/**
 * Unpacks a `docker load` archive into a private temp directory, safely:
 * only regular files and directories are created on disk (O_EXCL |
 * O_NOFOLLOW, inside directories this code made itself); symlinks and hard
 * links are kept as a table and resolved when a path is looked up, always
 * inside the archive (moby's FollowSymlinkInScope). Names that climb out of
 * the archive (`../x`) are refused; absolute names count from its root, as
 * chrootarchive does. Old `docker save` archives link duplicate layers this
 * way, so links must work, but they can never reach the host.
 *
 * The writes are synchronous, as in the layer applier (graph-common
 * tar-applier.ts): the archive is a few large files, and a write per input
 * chunk through the thread pool made receiving the upload a large part of a
 * `docker load`.
 */
export class ExtractedArchive implements TarEntryHandler {
  private readonly links = new Map<string, { target: string; hard: boolean }>();
  /** The regular file being written, -1 between files. */
  private fd = -1;

  private constructor(readonly root: string, private readonly onFile?: (size: number) => void) {}

  /** `onFile` hears the size of each regular file as it starts (before its bytes arrive). */
  static async extract(input: Readable, root: string, onFile?: (size: number) => void): Promise<ExtractedArchive> {
    const archive = new ExtractedArchive(root, onFile);
    try {
      await parseTarStream(input, archive);
    } catch (err) {
      if (archive.fd >= 0) closeSync(archive.fd);
      if (err instanceof InvalidParameterError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw err;
      throw new InvalidParameterError(`invalid archive: ${(err as Error).message}`);
    }
    return archive;
  }

  data(piece: Buffer): void {
    if (this.fd < 0) return;
    let off = 0;
    while (off < piece.length) off += writeSync(this.fd, piece, off, piece.length - off);
  }

  end(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    closeSync(fd);
  }

  entry(h: TarHeader): void {
    const rel = cleanRelative(h.name);
    if (rel === null) throw new InvalidParameterError(`invalid archive: ${JSON.stringify(h.name)} is outside of the archive`);
    if (rel === '') return;
    this.links.delete(rel);
    switch (h.type) {
      case 'directory':
        this.mkdirs(rel);
        return;
      case 'symlink':
        this.forget(rel);
        this.links.set(rel, { target: h.linkname ?? '', hard: false });
        return;
      case 'link': {
        const target = cleanRelative(h.linkname ?? '');
        if (target === null || target === '') throw new InvalidParameterError(`invalid archive: hard link ${JSON.stringify(h.name)} points outside of the archive`);
        this.forget(rel);
        this.links.set(rel, { target, hard: true });
        return;
      }
      case 'file':
      case 'contiguous-file': {
        const slash = rel.lastIndexOf('/');
        if (slash > 0) this.mkdirs(rel.slice(0, slash));
        const path = join(this.root, rel);
        this.forget(rel);
        this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        this.onFile?.(h.size ?? 0);
        return;
      }
      default:
        return; // devices, fifos: nothing an image archive needs
    }
  }

  /** Directories along `rel`, each checked to be a real directory. */
  private mkdirs(rel: string): void {
    let cur = this.root;
    for (const part of rel.split('/')) {
      cur = join(cur, part);
      const partRel = cur.slice(this.root.length + 1);
      if (this.links.has(partRel)) throw new InvalidParameterError(`invalid archive: ${JSON.stringify(partRel)} is a link and a directory`);
      try {
        mkdirSync(cur, 0o700);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!statSync(cur).isDirectory()) throw new InvalidParameterError(`invalid archive: ${JSON.stringify(partRel)} is not a directory`);
      }
    }
  }

  /** A later entry replaces an earlier one of the same name. */
  private forget(rel: string): void {
    rmSync(join(this.root, rel), { recursive: true, force: true });
  }

  /**
   * The on-disk path of archive member `name`, links followed inside the
   * archive. Throws (400) when it does not exist or is not a regular file.
   */
  async resolve(name: string): Promise<string> {
    const parts = (cleanRelative(name) ?? '').split('/').filter(Boolean);
    const done: string[] = [];
    let hops = 0;
    while (parts.length > 0) {
      const part = parts.shift()!;
      if (part === '..') { done.pop(); continue; }
      if (part === '.') continue;
      const candidate = [...done, part].join('/');
      const link = this.links.get(candidate);
      if (!link) { done.push(part); continue; }
      if (++hops > 255) throw new InvalidParameterError(`invalid archive: too many links resolving ${name}`);
      if (link.hard || link.target.startsWith('/')) done.length = 0;
      parts.unshift(...link.target.split('/').filter((p) => p !== '' && p !== '.'));
    }
    const path = join(this.root, ...done);
    const st = await stat(path).catch(() => null);
    if (!st?.isFile()) throw new InvalidParameterError(`invalid archive: ${posix.normalize(name)}: no such file in the archive`);
    return path;
  }

  /** True when the archive holds `name` (after links). */
  async has(name: string): Promise<boolean> {
    return this.resolve(name).then(() => true, () => false);
  }
}
