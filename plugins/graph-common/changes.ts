import { readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { Change } from '../../kernel/index.js';
import { listDir, lstatOrNull, walkTree } from './tree-walk.js';
import { readXattrTree, sameXattrs, type XattrTable } from './xattrs.js';
import { isHostOnlyXattr } from './whiteouts.js';

export const ChangeKind = { Modify: 0, Add: 1, Delete: 2 } as const;

export interface ChangeSet {
  changes: Change[];
  /** xattrs of the new tree, read once and reused when the changes are exported. */
  newXattrs: XattrTable;
}

/**
 * dockerd's ChangesDirs: walks `newDir` and `oldDir` side by side and lists
 * what a layer on top of `oldDir` must carry to produce `newDir`. Paths carry
 * a leading slash ("/etc/hosts") as in `docker diff`; parents come before
 * children. A deleted directory is one Delete (its contents go with it). A
 * directory whose contents changed is listed as modified even if its own
 * metadata did not, so that its mode and owner travel with the layer.
 * Directory mtimes and sizes are ignored (they change whenever an entry
 * does); file mtimes compare to the microsecond and a whole-second stamp
 * (from a tar) matches any time within that second, like moby's sameFsTime.
 */
export async function changesDirs(newDir: string, oldDir: string | null): Promise<ChangeSet> {
  const [newXattrs, oldXattrs] = await Promise.all([readXattrTree(newDir), oldDir ? readXattrTree(oldDir) : new Map()]);
  const changes: Change[] = [];
  const ctx: Ctx = { newDir, oldDir, newXattrs, oldXattrs, changes };
  await compareDir(ctx, '');
  return { changes, newXattrs };
}

interface Ctx {
  newDir: string;
  oldDir: string | null;
  newXattrs: XattrTable;
  oldXattrs: XattrTable;
  changes: Change[];
}

async function compareDir(ctx: Ctx, rel: string): Promise<void> {
  const newNames = await listDir(join(ctx.newDir, rel));
  const oldNames = ctx.oldDir ? await listDir(join(ctx.oldDir, rel)) : [];
  const names = [...new Set([...newNames, ...oldNames])].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const childRel = rel ? `${rel}/${name}` : name;
    const path = '/' + childRel;
    const newSt = await lstatOrNull(join(ctx.newDir, childRel));
    const oldSt = ctx.oldDir ? await lstatOrNull(join(ctx.oldDir, childRel)) : null;
    if (!newSt) {
      if (oldSt) ctx.changes.push({ Path: path, Kind: ChangeKind.Delete });
      continue;
    }
    if (!oldSt || fileType(newSt) !== fileType(oldSt)) {
      // A new path, or one whose type changed: the applier replaces whatever was there.
      ctx.changes.push({ Path: path, Kind: oldSt ? ChangeKind.Modify : ChangeKind.Add });
      if (newSt.isDirectory()) await addSubtree(ctx, childRel);
      continue;
    }
    const changed = await metadataChanged(ctx, childRel, newSt, oldSt);
    if (!newSt.isDirectory()) {
      if (changed) ctx.changes.push({ Path: path, Kind: ChangeKind.Modify });
      continue;
    }
    const at = ctx.changes.length;
    if (changed) ctx.changes.push({ Path: path, Kind: ChangeKind.Modify });
    await compareDir(ctx, childRel);
    if (!changed && ctx.changes.length > at) ctx.changes.splice(at, 0, { Path: path, Kind: ChangeKind.Modify });
  }
}

async function addSubtree(ctx: Ctx, rel: string): Promise<void> {
  for await (const e of walkTree(join(ctx.newDir, rel))) {
    ctx.changes.push({ Path: `/${rel}/${e.rel}`, Kind: ChangeKind.Add });
  }
}

function fileType(st: Stats): number {
  return st.mode & 0o170000;
}

async function metadataChanged(ctx: Ctx, rel: string, a: Stats, b: Stats): Promise<boolean> {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (!sameXattrs(portable(ctx.newXattrs.get(rel)), portable(ctx.oldXattrs.get(rel)))) return true;
  if (a.isDirectory()) return false;
  if (a.rdev !== b.rdev || a.size !== b.size || !sameFsTime(a, b)) return true;
  if (a.isSymbolicLink()) {
    return (await readlink(join(ctx.newDir, rel))) !== (await readlink(join(ctx.oldDir!, rel)));
  }
  return false;
}

/** The xattrs that belong to the layer (host labels and overlay bookkeeping excluded). */
function portable(m: Map<string, Buffer> | undefined): Map<string, Buffer> | undefined {
  if (!m) return m;
  return new Map([...m].filter(([k]) => !isHostOnlyXattr(k)));
}

/** Same mtime: equal to the microsecond, or one side has whole seconds only (it came from a tar). */
export function sameFsTime(a: Stats, b: Stats): boolean {
  const sa = Math.floor(a.mtimeMs / 1000);
  const sb = Math.floor(b.mtimeMs / 1000);
  if (sa !== sb) return false;
  const fa = a.mtimeMs - sa * 1000;
  const fb = b.mtimeMs - sb * 1000;
  return fa === 0 || fb === 0 || Math.abs(fa - fb) < 0.002;
}

/**
 * dockerd's ChangesSize: bytes of the added and modified non-directories,
 * each hardlinked inode counted once.
 */
export async function changesSize(newDir: string, changes: Change[]): Promise<number> {
  const seen = new Set<string>();
  let size = 0;
  for (const c of changes) {
    if (c.Kind === ChangeKind.Delete) continue;
    const st = await lstatOrNull(join(newDir, c.Path));
    if (!st || st.isDirectory()) continue;
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    size += st.size;
  }
  return size;
}
