import { existsSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { definePlugin, ExtensionPoint, SkipPlugin, type NetworkDriver } from '../../kernel/index.js';
import { BridgeDriver } from './bridge-driver.js';

export interface NetBridgeConfig {
  /**
   * Prefix of this daemon's iptables chains (`BERTH`, `BERTH-FORWARD`, …).
   * Two daemons on one host must use different prefixes (the test helper
   * gives each test daemon its own).
   */
  chainPrefix: string;
}

/**
 * The `bridge` network driver. Needs iproute2 and nsenter; iptables only
 * when daemon.json `iptables` is true (the default), as dockerd.
 */
export default definePlugin<NetworkDriver, NetBridgeConfig>({
  id: 'net-bridge',
  point: ExtensionPoint.NetworkDriver,
  name: 'bridge',
  description: 'Linux bridge networks with NAT and published ports, as dockerd\'s bridge driver',
  swap: 'restart-only',
  defaults: () => ({ chainPrefix: 'BERTH' }),
  daemonKeys: ['iptables', 'ip-forward', 'mtu', 'userland-proxy'],
  activate: async (ctx) => {
    if (process.getuid?.() !== 0) throw new SkipPlugin('bridge networks need root');
    for (const tool of ['ip', 'nsenter', ...(ctx.daemon.iptables !== false ? ['iptables', 'iptables-save', 'iptables-restore'] : [])]) {
      // A PATH lookup, not a spawn: this runs at every daemon start.
      if (!(process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).some((d) => existsSync(join(d, tool)))) throw new SkipPlugin(`${tool} is not installed`);
    }
    if (!/^[A-Z][A-Z0-9_]{0,11}$/.test(ctx.config.chainPrefix)) throw new Error(`net-bridge: chainPrefix must be 1-12 upper-case letters or digits: ${ctx.config.chainPrefix}`);
    // dockerd's ip-forward: the host must route for the containers' outbound traffic.
    if (ctx.daemon['ip-forward'] !== false) {
      const cur = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8').catch(() => '1');
      if (cur.trim() !== '1') await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch((err: unknown) => ctx.log.warn('cannot enable IP forwarding', { error: err }));
    }
    const driver = new BridgeDriver({
      chainPrefix: ctx.daemon.iptables !== false ? ctx.config.chainPrefix : undefined,
      defaultMtu: ctx.daemon.mtu ?? 1500,
      userlandProxy: ctx.daemon['userland-proxy'] !== false,
      log: ctx.log,
    });
    await driver.init();
    return driver;
  },
});
