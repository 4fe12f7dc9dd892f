import type { Readable } from 'node:stream';
import type { Change, Logger } from '../../kernel/index.js';
import { ChangeKind, changesDirs } from './changes.js';
import { writeLayerTar, type LayerItem } from './layer-tar-writer.js';
import { readXattrTree, type XattrTable } from './xattrs.js';

/**
 * dockerd's NaiveDiffDriver.Diff for drivers without a native differ: compare
 * the layer's full tree with its parent's and export the changes as a layer tar
 * (AUFS whiteouts for deletions). `oldDir` null means "everything is new".
 */
export async function naiveDiff(newDir: string, oldDir: string | null, log?: Logger): Promise<Readable> {
  const { changes, newXattrs } = await changesDirs(newDir, oldDir);
  return exportChanges(newDir, changes, { xattrs: newXattrs, log });
}

/** dockerd's archive.ExportChanges: a tar of `changes` read from `dir`, in the order given. */
export async function exportChanges(dir: string, changes: Change[], opts: { xattrs?: XattrTable; log?: Logger } = {}): Promise<Readable> {
  const xattrs = opts.xattrs ?? (await readXattrTree(dir));
  const items: LayerItem[] = changes.map((c) =>
    c.Kind === ChangeKind.Delete ? { kind: 'whiteout', rel: c.Path.slice(1) } : { kind: 'path', rel: c.Path.slice(1) },
  );
  return writeLayerTar(dir, items, {
    xattrs,
    onSkippedXattr: (rel, name) => opts.log?.warn('xattr with a binary value left out of the layer tar', { path: '/' + rel, xattr: name }),
  });
}
