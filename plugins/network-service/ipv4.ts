import { InvalidParameterError } from '../../kernel/index.js';

/** IPv4 addresses as 32-bit unsigned numbers, and CIDR prefixes over them. */
export interface Prefix {
  base: number;
  bits: number;
}

export function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** "10.1.2.3/16" → the prefix and the address as given (host bits kept). */
export function parseCidr(s: string): (Prefix & { ip: number }) | undefined {
  const [ip, len, extra] = s.split('/');
  if (extra !== undefined || ip === undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const bits = Number(len);
  const n = parseIp(ip);
  if (n === undefined || bits > 32) return undefined;
  return { base: (n & mask(bits)) >>> 0, bits, ip: n };
}

export function mustCidr(s: string, what: string): Prefix & { ip: number } {
  const p = parseCidr(s);
  if (!p) throw new InvalidParameterError(`invalid ${what}: ${s}`);
  return p;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.base)}/${p.bits}`;
}

export function contains(p: Prefix, ip: number): boolean {
  return ((ip & mask(p.bits)) >>> 0) === p.base;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

export function size(p: Prefix): number {
  return 2 ** (32 - p.bits);
}
