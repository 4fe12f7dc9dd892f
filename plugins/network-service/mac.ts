import { InvalidParameterError } from '../../kernel/index.js';

/** dockerd's MAC for an endpoint without one given: 02:42 followed by the IPv4 address (netutils.GenerateMACFromIP). */
export function macFromIp(ip: string): string {
  return ['02', '42', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/** `--mac-address` as dockerd accepts it (net.ParseMAC of a 6-byte address), normalised to lower case. */
export function parseMac(mac: string): string {
  if (!/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(mac)) throw new InvalidParameterError(`invalid MAC address: ${mac}`);
  return mac.toLowerCase().replace(/-/g, ':');
}
