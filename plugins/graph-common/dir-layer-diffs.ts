import type { Readable } from 'node:stream';
import type { Change, Logger } from '../../kernel/index.js';
import { changesDirs, changesSize } from './changes.js';
import { naiveDiff } from './naive-diff.js';
import type { ApplyOptions } from './tar-applier.js';
import { applyLayerTarOffThread } from './tar-apply-thread.js';

/** The trees of a layer and its parent (null for a base layer), checked to exist. */
export type LayerDirs = (id: string, parent: string | null) => Promise<{ newDir: string; oldDir: string | null }>;

/**
 * Diff, changes, apply and size for drivers whose layers are whole directory
 * trees that need no mount (vfs, btrfs): dockerd's NaiveDiffDriver — the
 * layer's tree compared with its parent's, a layer tar unpacked straight into
 * the tree with whiteouts as deletions.
 */
export class DirLayerDiffs {
  constructor(
    private readonly dirs: LayerDirs,
    private readonly log: Logger,
    /** Extra options of applyDiff (vfs's best-effort xattrs). */
    private readonly applyOptions: Pick<ApplyOptions, 'xattrErrors'> = {},
  ) {}

  async diff(id: string, parent: string | null): Promise<Readable> {
    const { newDir, oldDir } = await this.dirs(id, parent);
    return naiveDiff(newDir, oldDir, this.log);
  }

  async changes(id: string, parent: string | null): Promise<Change[]> {
    const { newDir, oldDir } = await this.dirs(id, parent);
    return (await changesDirs(newDir, oldDir)).changes;
  }

  async applyDiff(id: string, parent: string | null, diff: Readable): Promise<number> {
    const { newDir } = await this.dirs(id, parent);
    return applyLayerTarOffThread(newDir, diff, { whiteouts: 'remove', ...this.applyOptions, log: this.log });
  }

  async diffSize(id: string, parent: string | null): Promise<number> {
    const { newDir, oldDir } = await this.dirs(id, parent);
    return changesSize(newDir, (await changesDirs(newDir, oldDir)).changes);
  }
}
