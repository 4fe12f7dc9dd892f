import { join } from 'node:path';
import { definePlugin, ExtensionPoint, type NetworkService } from '../../kernel/index.js';
import { LocalNetworkService } from './network-service.js';

export interface NetworkServiceConfig {
  /**
   * Name of the default bridge when daemon.json `bridge` is unset. dockerd
   * uses docker0; Berth uses its own so it never takes over dockerd's
   * bridge (the test helper gives each test daemon a unique one).
   */
  defaultBridge: string;
}

/**
 * The network service: networks, IPAM and container sandboxes. State under
 * `<data-root>/network`, sandboxes (network namespaces) under
 * `<exec-root>/netns`, as dockerd's layout.
 */
export default definePlugin<NetworkService, NetworkServiceConfig>({
  id: 'network-service',
  point: ExtensionPoint.NetworkService,
  name: 'libnetwork',
  description: 'Networks, IPAM, sandboxes and the embedded DNS, as dockerd\'s libnetwork controller',
  swap: 'restart-only',
  defaults: () => ({ defaultBridge: 'berth0' }),
  daemonKeys: ['bridge', 'bip', 'fixed-cidr', 'mtu', 'icc', 'ip-masq', 'ip', 'default-address-pools', 'dns'],
  activate: (ctx) => {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ctx.config.defaultBridge)) throw new Error(`network-service: defaultBridge must be a valid interface name: ${ctx.config.defaultBridge}`);
    return LocalNetworkService.open({
      dataRoot: ctx.paths.dataRoot,
      execRoot: ctx.paths.execRoot,
      host: ctx.host,
      events: ctx.events,
      log: ctx.log,
      daemon: () => ctx.host.daemonConfig,
      defaultBridgeName: ctx.config.defaultBridge,
    });
  },
});
