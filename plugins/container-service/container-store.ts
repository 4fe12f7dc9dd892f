import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, removeTree, replaceFile, replaceFileSynced, writeFileAtomic, type ContainerRecord, type Logger } from '../../kernel/index.js';

/**
 * Every container's record, in memory and on disk at
 * `<root>/<id>/config.v2.json` (dockerd's file name; our own shape).
 * Records are written atomically, so a crash leaves the old or the new one.
 * A directory without a record is what a crash in the middle of a create
 * leaves behind: `load` reports those so the caller can release their layers.
 *
 * A removal is committed by one rename of the container's directory into
 * `<root>/.trash/` (`moveToTrash`): from then on the container is gone, for
 * this process and after any crash, without rewriting its record first. What
 * it held (layers, image hold, the directory itself) is released afterwards,
 * off the reply's path; `trash` lists what a crash left there so the next
 * start finishes the job.
 */
export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly byName = new Map<string, string>();

  constructor(private readonly root: string, private readonly log: Logger) {}

  /** Reads every record; returns the ids of directories that hold none (orphans). */
  async load(): Promise<string[]> {
    await mkdir(this.root, { recursive: true, mode: 0o710 });
    await mkdir(this.trashRoot(), { recursive: true, mode: 0o700 });
    const orphans: string[] = [];
    for (const id of await readdir(this.root)) {
      if (!/^[0-9a-f]{64}$/.test(id)) continue;
      try {
        const rec = JSON.parse(await readFile(this.file(id), 'utf8')) as ContainerRecord;
        this.index(rec);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') orphans.push(id);
        else this.log.warn('skipping unreadable container record', { id, error: err });
      }
    }
    return orphans;
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Full ID, name (with or without "/"), or a unique ID prefix, as dockerd resolves them. */
  resolve(ref: string): ContainerRecord {
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.byId.get(byName)!;
    if (ref.length > 0 && /^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.byId.keys()].filter((id) => id.startsWith(ref));
      if (matches.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${ref}`);
      if (matches.length === 1) return this.byId.get(matches[0]!)!;
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  /** Like resolve, but undefined instead of NotFoundError (a container removed meanwhile). */
  tryResolve(ref: string): ContainerRecord | undefined {
    try {
      return this.resolve(ref);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  nameOwner(name: string): string | undefined {
    return this.byName.get(name);
  }

  /** Reserves a name for an id; 409 with dockerd's wording when taken. */
  reserveName(name: string, id: string): void {
    const owner = this.byName.get(name);
    if (owner && owner !== id) {
      throw new ConflictError(
        `Conflict. The container name "${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.byName.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.byName.get(name) === id) this.byName.delete(name);
  }

  /**
   * Makes the directory of a container being created, before its layers: a
   * crash from here until its first `save` leaves a directory without a
   * record, which `load` reports as an orphan (so the layers are released).
   */
  async prepare(id: string): Promise<void> {
    await mkdir(this.dir(id), { mode: 0o710 });
    this.prepared.add(id);
  }

  /** Directories made by `prepare` whose record is not saved yet: its first save need not make it again. */
  private readonly prepared = new Set<string>();

  /**
   * Writes the record atomically (a kill -9 leaves the old or the new one).
   * A new record (the create) is durable before this returns: file and
   * directory fsynced, so the create is never reported for a container a
   * host crash could forget. A state change of a recorded container is
   * fsynced and renamed over the durable record without the directory's
   * fsync, as dockerd checkpoints a container (AtomicWriteFile): after a
   * host crash the record is the old or the new state, never torn or gone,
   * and the rename is committed with the filesystem's next journal commit
   * (any fsync forces it) — one journal commit on the reply's path, not two.
   * `durable: false` leaves out the file's fsync too, which only matters for
   * a crash of the host: for a state whose loss in such a crash ends the
   * same way (see Lifecycle's start of an auto-removed container).
   */
  async save(rec: ContainerRecord, opts: { durable?: boolean } = {}): Promise<void> {
    const recorded = this.byId.has(rec.Id);
    // The directory exists for every indexed record (and for one being created, see prepare).
    if (!recorded && !this.prepared.delete(rec.Id)) await mkdir(this.dir(rec.Id), { recursive: true, mode: 0o710 });
    if (!recorded) await writeFileAtomic(this.file(rec.Id), JSON.stringify(rec), 0o600);
    else if (opts.durable === false) await replaceFile(this.file(rec.Id), JSON.stringify(rec), 0o600);
    else await replaceFileSynced(this.file(rec.Id), JSON.stringify(rec), 0o600);
    this.index(rec);
  }

  /**
   * Changes the record in memory only, for a state that is never the last
   * word on disk: a container being removed (the trash rename follows), an
   * auto-removed container between its exit and its removal (a crash in
   * between leaves it recorded as running, and restore handles that exit
   * and removes it).
   */
  setInMemory(rec: ContainerRecord): void {
    if (!this.byId.has(rec.Id)) throw new NotFoundError(`No such container: ${rec.Id}`);
    this.index(rec);
  }

  /**
   * Commits a removal: the container's directory is renamed into the trash
   * (one atomic step; kill -9 leaves it either listed or in the trash) and
   * it leaves the index and its name. Returns the trash path, whose contents
   * the caller deletes with `purge` once the container's layers are released.
   */
  async moveToTrash(id: string): Promise<string | null> {
    let to: string | null = join(this.trashRoot(), id);
    try {
      await rename(this.dir(id), to);
    } catch (err) {
      // No directory (removed by hand): nothing to commit but the index.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      to = null;
    }
    const rec = this.byId.get(id);
    if (rec) this.releaseName(rec.Name, id);
    this.byId.delete(id);
    return to;
  }

  /** Containers whose removal a crash interrupted after the trash rename (ids, with their trash paths). */
  async trash(): Promise<Array<{ id: string; path: string }>> {
    const names = await readdir(this.trashRoot()).catch(() => [] as string[]);
    return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).map((id) => ({ id, path: join(this.trashRoot(), id) }));
  }

  /** Deletes a trash entry (the old directory of a removed container). */
  async purge(path: string): Promise<void> {
    await removeTree(path);
  }

  async delete(id: string): Promise<void> {
    this.prepared.delete(id);
    const rec = this.byId.get(id);
    if (rec) this.releaseName(rec.Name, id);
    this.byId.delete(id);
    await removeTree(this.dir(id));
  }

  private index(rec: ContainerRecord): void {
    this.byId.set(rec.Id, rec);
    this.byName.set(rec.Name, rec.Id);
  }

  private trashRoot(): string {
    return join(this.root, '.trash');
  }

  private file(id: string): string {
    return join(this.root, id, 'config.v2.json');
  }
}
