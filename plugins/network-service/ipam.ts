import { ConflictError, InvalidParameterError } from '../../kernel/index.js';
import { contains, formatIp, mustCidr, parseIp, size, type Prefix } from './ipv4.js';

/**
 * libnetwork's default IPAM for one IPv4 pool: a subnet, an optional
 * sub-range addresses are handed out from (`--ip-range`, `fixed-cidr`), the
 * gateway, and the addresses in use. The network and broadcast addresses
 * and the gateway are never handed out; a free address is searched from the
 * one after the last allocation (libnetwork's bitmap "serial" allocation),
 * so a just-released address is not reused at once.
 */
export class AddressPool {
  readonly subnet: Prefix;
  readonly range: Prefix;
  readonly gateway: number;
  private readonly used = new Set<number>();
  private last: number;

  constructor(subnet: string, gateway: string, ipRange?: string) {
    this.subnet = mustCidr(subnet, 'subnet');
    this.range = ipRange ? mustCidr(ipRange, 'ip-range') : this.subnet;
    const gw = parseIp(gateway);
    if (gw === undefined) throw new InvalidParameterError(`invalid gateway address: ${gateway}`);
    this.gateway = gw;
    this.last = this.range.base;
  }

  /** Takes `ip` (a user's `--ip`) or the next free address; ConflictError when none is left or it is taken. */
  allocate(ip?: string): string {
    if (ip !== undefined) {
      const n = parseIp(ip);
      if (n === undefined) throw new InvalidParameterError(`invalid IPv4 address: ${ip}`);
      if (!contains(this.subnet, n)) throw new InvalidParameterError(`no configured subnet contains IP address ${ip}`);
      if (this.used.has(n) || n === this.gateway) throw new ConflictError(`Address already in use`);
      this.used.add(n);
      return ip;
    }
    const first = this.range.base;
    const count = size(this.range);
    for (let i = 1; i <= count; i++) {
      const n = first + ((this.last - first + i) % count);
      if (!this.usable(n)) continue;
      this.used.add(n);
      this.last = n;
      return formatIp(n);
    }
    throw new ConflictError(`no available IPv4 addresses on this network's address pools: ${formatIp(this.subnet.base)}/${this.subnet.bits}`);
  }

  /** Marks an address as in use again (restored from disk); false when it does not belong here. */
  reserve(ip: string): boolean {
    const n = parseIp(ip);
    if (n === undefined || !contains(this.subnet, n)) return false;
    this.used.add(n);
    return true;
  }

  release(ip: string): void {
    const n = parseIp(ip);
    if (n !== undefined) this.used.delete(n);
  }

  inUse(): number {
    return this.used.size;
  }

  private usable(n: number): boolean {
    const net = this.subnet.base;
    const bcast = net + size(this.subnet) - 1;
    if (this.subnet.bits < 31 && (n === net || n === bcast)) return false;
    return n !== this.gateway && !this.used.has(n) && contains(this.subnet, n);
  }
}
