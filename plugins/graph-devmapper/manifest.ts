import { readdirSync } from 'node:fs';
import { definePlugin, ExtensionPoint, SkipPlugin, type GraphDriver } from '../../kernel/index.js';

/**
 * devicemapper (thin provisioning). As in dockerd 20.10 it is deprecated and
 * never chosen automatically: only `"storage-driver": "devicemapper"` or
 * state of its own under the data root selects it (priority 90 also puts it
 * after vfs, which always activates). It skips itself, with the reason, where
 * the kernel has no device-mapper thin pool; bad `storage-opts` are a failure.
 */
export default definePlugin<GraphDriver>({
  id: 'graph-devmapper',
  point: ExtensionPoint.GraphDriver,
  name: 'devicemapper',
  description: 'Layers as device-mapper thin snapshots (dmsetup)',
  swap: 'restart-only',
  priority: 90,
  daemonKeys: ['storage-opts'],
  async activate(ctx) {
    if (ctx.daemon['storage-driver'] !== 'devicemapper' && !hasEntries(ctx.paths.root)) {
      throw new SkipPlugin('devicemapper is deprecated and used only when selected ("storage-driver": "devicemapper"), as in dockerd');
    }
    // Loaded only when selected: a daemon on another driver never evaluates this driver's code.
    const [{ DevmapperDriver }, { parseDmOptions }, { devmapperUnsupported }, { spawnRunner }] = await Promise.all([
      import('./devmapper-driver.js'), import('./dm-options.js'), import('./host-support.js'), import('./tool-runner.js'),
    ]);
    const storageOpts = ctx.daemon['storage-opts'] ?? [];
    parseDmOptions(storageOpts);
    const reason = await devmapperUnsupported(spawnRunner);
    if (reason) throw new SkipPlugin(reason);
    return DevmapperDriver.open(ctx.paths.root, { storageOpts, log: ctx.log });
  },
});

function hasEntries(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}
