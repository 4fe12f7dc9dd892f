import { readFileSync } from 'node:fs';
import { InvalidParameterError } from '../../kernel/index.js';
import { formatIp, formatPrefix, mustCidr, overlaps, size, type Prefix } from './ipv4.js';

/**
 * Subnets for networks created without `--subnet`, as dockerd's
 * ipamutils: the `default-address-pools` (or dockerd's built-in list) split
 * into subnets of each pool's `size`, and the first one that overlaps
 * neither another network nor a route or address of the host is taken.
 */
export const DOCKER_DEFAULT_POOLS: Array<{ base: string; size: number }> = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

export function* candidateSubnets(pools: Array<{ base: string; size: number }>): Generator<Prefix> {
  for (const pool of pools) {
    const base = mustCidr(pool.base, 'default-address-pools base');
    if (pool.size < base.bits || pool.size > 32) throw new InvalidParameterError(`invalid pools size: ${pool.size}`);
    const step = 2 ** (32 - pool.size);
    for (let n = base.base; n < base.base + size(base); n += step) yield { base: n >>> 0, bits: pool.size };
  }
}

export function chooseSubnet(pools: Array<{ base: string; size: number }>, taken: Prefix[]): Prefix {
  for (const cand of candidateSubnets(pools)) {
    if (!taken.some((t) => overlaps(t, cand))) return cand;
  }
  throw new InvalidParameterError('all predefined address pools have been fully subnetted');
}

/** The host's own IPv4 routes (not via our bridges), which a new subnet must not shadow. */
export function hostRoutes(exclude: ReadonlySet<string>): Prefix[] {
  let text = '';
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: Prefix[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [iface, dest, , , , , , maskHex] = line.trim().split(/\s+/);
    if (!iface || !dest || !maskHex || exclude.has(iface)) continue;
    const d = leHex(dest);
    const m = leHex(maskHex);
    if (m === 0) continue; // the default route covers everything and shadows nothing
    out.push({ base: d, bits: popcount(m) });
  }
  return out;
}

function leHex(h: string): number {
  const n = parseInt(h, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n >>> 0; x; x >>>= 1) c += x & 1;
  return c;
}

/** The first usable address of a subnet: dockerd's default gateway. */
export function firstHost(p: Prefix): string {
  return formatIp(p.base + 1);
}

export { formatPrefix };
