import { definePlugin, ExtensionPoint, type GraphDriver } from '../../kernel/index.js';

/**
 * vfs works on any filesystem (plain directory copies), so it never skips;
 * priority 50 puts it last, as in dockerd's "overlay2,fuse-overlayfs,btrfs,zfs,vfs".
 * Unknown `storage-opts` fail activation with dockerd's wording.
 */
export default definePlugin<GraphDriver>({
  id: 'graph-vfs',
  point: ExtensionPoint.GraphDriver,
  name: 'vfs',
  description: 'Layers as full directory copies (no copy-on-write)',
  swap: 'restart-only',
  priority: 50,
  daemonKeys: ['storage-opts'],
  async activate(ctx) {
    // Loaded only when tried: a daemon whose overlay2 is active never evaluates this driver's code.
    const { VfsDriver } = await import('./vfs-driver.js');
    return VfsDriver.open(ctx.paths.root, { storageOpts: ctx.daemon['storage-opts'] ?? [], log: ctx.log });
  },
});
