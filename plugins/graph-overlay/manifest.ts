import { definePlugin, ExtensionPoint, SkipPlugin, type GraphDriver } from '../../kernel/index.js';
import { OverlayDriver } from './overlay-driver.js';
import { parseOverlayOptions } from './overlay-options.js';
import { probeOverlay } from './overlay-probe.js';

/**
 * overlay2 comes first in dockerd's priority list (priority 10 here). It
 * skips itself, with the reason, when the host cannot run it: not root, a
 * data root on a filesystem overlay cannot stack on (overlayfs itself, when
 * berthd runs in a container), or a test mount in the root that fails.
 * Bad `storage-opts` are a failure, not a skip, as in dockerd.
 */
export default definePlugin<GraphDriver>({
  id: 'graph-overlay',
  point: ExtensionPoint.GraphDriver,
  name: 'overlay2',
  description: 'Layers stacked with the kernel overlay filesystem',
  swap: 'restart-only',
  priority: 10,
  daemonKeys: ['storage-opts'],
  async activate(ctx) {
    const storageOpts = ctx.daemon['storage-opts'] ?? [];
    parseOverlayOptions(storageOpts);
    const reason = await probeOverlay(ctx.paths.root);
    if (reason) throw new SkipPlugin(reason);
    return OverlayDriver.open(ctx.paths.root, { storageOpts, log: ctx.log });
  },
});
