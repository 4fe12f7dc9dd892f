import type { DaemonConfig, IpamConfig } from '../../kernel/index.js';
import { formatPrefix, mustCidr } from './ipv4.js';

export interface DefaultBridgeSpec {
  options: Record<string, string>;
  /** From `bip`/`fixed-cidr`; undefined = a free subnet from the address pools. */
  config?: IpamConfig;
}

/**
 * dockerd's default `bridge` network from daemon.json (daemon_unix.go
 * initBridgeDriver): `bridge` names the bridge (`none` disables the
 * network), `bip` gives the gateway and subnet, `fixed-cidr` the range
 * containers are given addresses from, `mtu`, `icc`, `ip-masq` and `ip`
 * become the network's driver options as `docker network inspect bridge`
 * shows them.
 */
export function defaultBridgeSpec(d: Readonly<DaemonConfig>, defaultName: string): DefaultBridgeSpec | undefined {
  if (d.bridge === 'none') return undefined;
  const options: Record<string, string> = {
    'com.docker.network.bridge.default_bridge': 'true',
    'com.docker.network.bridge.enable_icc': String(d.icc !== false),
    'com.docker.network.bridge.enable_ip_masquerade': String(d['ip-masq'] !== false),
    'com.docker.network.bridge.host_binding_ipv4': (d.ip as string | undefined) || '0.0.0.0',
    'com.docker.network.bridge.name': d.bridge || defaultName,
    'com.docker.network.driver.mtu': String(d.mtu ?? 1500),
  };
  if (!d.bip) {
    if (d['fixed-cidr']) {
      const fixed = mustCidr(d['fixed-cidr'], 'fixed-cidr');
      return { options, config: { Subnet: formatPrefix(fixed), IPRange: formatPrefix(fixed), Gateway: formatIpPlus(fixed.base, 1) } };
    }
    return { options };
  }
  const bip = mustCidr(d.bip, 'bip');
  const config: IpamConfig = { Subnet: formatPrefix(bip), Gateway: d.bip.split('/')[0]! };
  if (d['fixed-cidr']) config.IPRange = formatPrefix(mustCidr(d['fixed-cidr'], 'fixed-cidr'));
  return { options, config };
}

function formatIpPlus(n: number, k: number): string {
  const x = (n + k) >>> 0;
  return [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.');
}
