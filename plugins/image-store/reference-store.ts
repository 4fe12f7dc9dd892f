import { readFile } from 'node:fs/promises';
import { ConflictError, InvalidParameterError, NotFoundError, writeFileAtomic, type Logger } from '../../kernel/index.js';
import {
  familiarName, familiarString, parseNormalizedNamed, refString, tagNameOnly, trimNamed, type Reference,
} from './reference.js';

/**
 * The reference store (dockerd's refstore), `repositories.json`:
 *
 *   {"Repositories":{"busybox":{"busybox:latest":"sha256:…","busybox@sha256:…":"sha256:…"}}}
 *
 * keyed by familiar name, then familiar reference. Every change rewrites the
 * file atomically; writes are queued so two changes never interleave.
 */
export class ReferenceStore {
  private repos: Record<string, Record<string, string>> = {};
  private readonly byId = new Map<string, Map<string, Reference>>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

  static async open(path: string, log: Logger): Promise<ReferenceStore> {
    const store = new ReferenceStore(path);
    let text: string | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // No file yet (a new data root): the store is empty, and the file is
    // written with the first change. dockerd writes an empty one at start;
    // here that atomic write (two fsyncs) would delay the daemon's first
    // answer, and a missing file already reads as empty after any crash.
    if (text === null) return store;
    const parsed = JSON.parse(text) as { Repositories?: Record<string, Record<string, string>> };
    store.repos = parsed.Repositories ?? {};
    for (const repo of Object.values(store.repos)) {
      for (const [refStr, id] of Object.entries(repo)) {
        try {
          store.index(id, refStr, parseNormalizedNamed(refStr));
        } catch (err) {
          log.warn('ignoring malformed reference', { reference: refStr, error: err });
        }
      }
    }
    return store;
  }

  /** References to an image, sorted by their full string as dockerd sorts them. */
  references(id: string): Reference[] {
    const refs = [...(this.byId.get(id)?.values() ?? [])];
    return refs.sort((a, b) => cmp(refString(a), refString(b)));
  }

  /** The image a reference points to (a bare name means `:latest`). */
  get(ref: Reference): string | undefined {
    const r = ref.digest !== undefined ? { ...trimNamed(ref), digest: ref.digest } : tagNameOnly(ref);
    return this.repos[familiarName(r)]?.[familiarString(r)];
  }

  /** Every reference in the repository of `ref`, sorted. */
  byName(ref: Reference): Array<{ ref: Reference; id: string }> {
    const repo = this.repos[familiarName(ref)];
    if (!repo) return [];
    return Object.entries(repo)
      .map(([s, id]) => ({ ref: parseNormalizedNamed(s), id }))
      .sort((a, b) => cmp(refString(a.ref), refString(b.ref)));
  }

  /** AddTag: a digest reference is refused; an existing tag moves only with `force`. */
  async addTag(ref: Reference, id: string, force: boolean): Promise<void> {
    if (ref.digest !== undefined) throw new InvalidParameterError('refusing to create a tag with a digest reference');
    await this.add(tagNameOnly(ref), id, force);
  }

  async addDigest(ref: Reference, id: string): Promise<void> {
    await this.add({ ...trimNamed(ref), digest: ref.digest }, id, false);
  }

  /** Deletes a reference; false when it did not exist. */
  async delete(ref: Reference): Promise<boolean> {
    const r = ref.digest !== undefined ? { ...trimNamed(ref), digest: ref.digest } : tagNameOnly(ref);
    const name = familiarName(r);
    const key = familiarString(r);
    const id = this.repos[name]?.[key];
    if (id === undefined) return false;
    delete this.repos[name]![key];
    if (Object.keys(this.repos[name]!).length === 0) delete this.repos[name];
    this.unindex(id, key);
    await this.save();
    return true;
  }

  private async add(ref: Reference, id: string, force: boolean): Promise<void> {
    const name = familiarName(ref);
    const key = familiarString(ref);
    if (name === 'sha256') throw new InvalidParameterError('refusing to create an ambiguous tag using digest algorithm as name');
    const old = this.repos[name]?.[key];
    if (old === id) return;
    if (old !== undefined) {
      if (ref.digest !== undefined) throw new ConflictError(`cannot overwrite digest ${ref.digest}`);
      if (!force) throw new ConflictError(`tag ${key} is already set to image ${old}, use the force option to replace it`);
      this.unindex(old, key);
    }
    (this.repos[name] ??= {})[key] = id;
    this.index(id, key, ref);
    await this.save();
  }

  private index(id: string, key: string, ref: Reference): void {
    let m = this.byId.get(id);
    if (!m) this.byId.set(id, (m = new Map()));
    m.set(key, ref);
  }

  private unindex(id: string, key: string): void {
    const m = this.byId.get(id);
    m?.delete(key);
    if (m?.size === 0) this.byId.delete(id);
  }

  private save(): Promise<void> {
    const run = this.saving.then(() => writeFileAtomic(this.path, JSON.stringify({ Repositories: this.repos }), 0o600));
    this.saving = run.catch(() => {});
    return run;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** refstore.ErrDoesNotExist, as `docker save` of an unknown tag reports it. */
export function referenceDoesNotExist(): NotFoundError {
  return new NotFoundError('reference does not exist');
}
