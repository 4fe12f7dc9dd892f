/**
 * Shared code for the graph-driver plugins (not a plugin itself): the naive
 * differ, the layer tar writer and the safe tar applier, plus the small
 * host helpers they need (xattrs, device nodes, atomic files).
 */
export { applyLayerTar, type ApplyOptions } from './tar-applier.js';
export { applyLayerTarOffThread, prewarmLayerWorkers } from './tar-apply-thread.js';
export { writeLayerTar, type LayerItem, type LayerTarOptions } from './layer-tar-writer.js';
export { naiveDiff, exportChanges } from './naive-diff.js';
export { changesDirs, changesSize, ChangeKind, type ChangeSet } from './changes.js';
export { copyTree } from './copy-tree.js';
export { dirSize } from './dir-size.js';
export { backingFsName } from './backing-fs.js';
export { writeFileAtomic } from './atomic-write.js';
export { KeyedLock } from './keyed-lock.js';
export { parseStorageOpt, parseRamSize } from './storage-opts.js';
export { runCommand, runChecked, CommandMissingError } from './run-command.js';
export { makeNodes, type NodeSpec } from './mknod.js';
export { cleanEntryName, resolveInRoot, ensureDirInRoot, breakoutError } from './scoped-path.js';
export { walkTree, listDir, lstatOrNull, devMajor, devMinor, type TreeEntry } from './tree-walk.js';
export { readXattrTree, readXattrs, writeXattrs, xattrToolsAvailable, sameXattrs, type XattrMap, type XattrTable } from './xattrs.js';
export * from './whiteouts.js';
export { PAX_XATTR_PREFIX, type TarHeader } from './tar-types.js';
export { validLayerId, checkLayerId } from './layer-id.js';
export { LayerRefs } from './layer-refs.js';
export { DirLayerDiffs, type LayerDirs } from './dir-layer-diffs.js';
export { withMountedTrees, applyThroughMount, type MountedLayers } from './mounted-trees.js';
