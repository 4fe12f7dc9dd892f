import { definePlugin, ExtensionPoint, type HostInfo } from '../../kernel/index.js';
import { probeHost } from './probe.js';

/** Host facts for `/info` and `/version`, probed once at activation. */
export default definePlugin<HostInfo>({
  id: 'host-info',
  point: ExtensionPoint.HostInfo,
  name: 'host',
  swap: 'live',
  daemonKeys: ['exec-opts'],
  activate(ctx) {
    const execOpts = (ctx.daemon['exec-opts'] as string[] | undefined) ?? [];
    const driverOpt = execOpts.find((o) => o.startsWith('native.cgroupdriver='));
    const facts = probeHost({ cgroupDriver: driverOpt?.split('=')[1] });
    return { facts: () => facts };
  },
});
