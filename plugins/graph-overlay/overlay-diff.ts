import { join } from 'node:path';
import type { Stats } from 'node:fs';
import type { Change } from '../../kernel/index.js';
import { ChangeKind } from '../graph-common/changes.js';
import type { LayerItem } from '../graph-common/layer-tar-writer.js';
import { listDir, lstatOrNull, walkTree } from '../graph-common/tree-walk.js';
import { OVERLAY_OPAQUE_XATTR } from '../graph-common/whiteouts.js';
import type { XattrTable } from '../graph-common/xattrs.js';

/** overlay records a deletion in the upper dir as a character device 0/0. */
export function isOverlayWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(xattrs: XattrTable, rel: string): boolean {
  return xattrs.get(rel)?.get(OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
}

/**
 * The native diff: the upper dir *is* the layer. Whiteout devices become
 * `.wh.<name>` entries and an opaque directory gets a `.wh..wh..opq` entry
 * right after its own (dockerd's overlayWhiteoutConverter).
 */
export async function* upperDirItems(upper: string, xattrs: XattrTable): AsyncGenerator<LayerItem> {
  for await (const e of walkTree(upper)) {
    if (isOverlayWhiteout(e.st)) {
      yield { kind: 'whiteout', rel: e.rel };
      continue;
    }
    yield { kind: 'path', rel: e.rel };
    if (e.st.isDirectory() && isOpaque(xattrs, e.rel)) yield { kind: 'opaque', rel: e.rel };
  }
}

/**
 * `docker diff` from the upper dir: each upper entry is added or modified
 * depending on whether the parent's merged view (`lowerView`) has it; a
 * whiteout is a deletion if there was something to delete; an opaque
 * directory also deletes the lower entries it hides.
 */
export async function upperDirChanges(upper: string, lowerView: string | null, xattrs: XattrTable): Promise<Change[]> {
  const changes: Change[] = [];
  for await (const e of walkTree(upper)) {
    const lower = lowerView ? await lstatOrNull(join(lowerView, e.rel)) : null;
    if (isOverlayWhiteout(e.st)) {
      if (lower) changes.push({ Path: '/' + e.rel, Kind: ChangeKind.Delete });
      continue;
    }
    changes.push({ Path: '/' + e.rel, Kind: lower ? ChangeKind.Modify : ChangeKind.Add });
    if (lowerView && lower?.isDirectory() && e.st.isDirectory() && isOpaque(xattrs, e.rel)) {
      const kept = new Set(await listDir(e.abs));
      for (const name of await listDir(join(lowerView, e.rel))) {
        if (!kept.has(name)) changes.push({ Path: `/${e.rel}/${name}`, Kind: ChangeKind.Delete });
      }
    }
  }
  return changes;
}
