import { definePlugin, ExtensionPoint, SkipPlugin, type GraphDriver } from '../../kernel/index.js';

/**
 * btrfs serves only a data root on btrfs and skips itself, with the reason,
 * elsewhere. Priority 30 follows dockerd's current list
 * "overlay2,fuse-overlayfs,btrfs,zfs,vfs": on a btrfs root overlay2 still
 * wins when it works (dockerd before 23.0 put btrfs first); an existing
 * `<data-root>/btrfs` or `storage-driver: "btrfs"` selects it. As dockerd,
 * the filesystem is checked before the options, so a host without btrfs
 * skips it whatever `storage-opts` say; bad options on btrfs are a failure.
 */
export default definePlugin<GraphDriver>({
  id: 'graph-btrfs',
  point: ExtensionPoint.GraphDriver,
  name: 'btrfs',
  description: 'Layers as btrfs subvolumes and snapshots',
  swap: 'restart-only',
  priority: 30,
  daemonKeys: ['storage-opts'],
  async activate(ctx) {
    // Loaded only when tried: a daemon whose overlay2 is active never evaluates this driver's code.
    const { probeBtrfs } = await import('./btrfs-probe.js');
    const reason = await probeBtrfs(ctx.paths.root);
    if (reason) throw new SkipPlugin(reason);
    const { BtrfsDriver } = await import('./btrfs-driver.js');
    return BtrfsDriver.open(ctx.paths.root, { storageOpts: ctx.daemon['storage-opts'] ?? [], log: ctx.log });
  },
});
