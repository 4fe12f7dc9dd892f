import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostTls, type HostTls } from './tls-trust.js';

/**
 * dockerd's registry service configuration and endpoint lookup
 * (registry.ServiceConfig, lookupV2Endpoints):
 *
 * - Docker Hub names (`docker.io/...`) try each `registry-mirrors` entry
 *   (mirror endpoints), then the hub itself.
 * - Any other registry is tried over HTTPS; when it is insecure, over HTTPS
 *   without certificate checks and then over plain HTTP.
 * - A registry is insecure when `insecure-registries` names it
 *   (`host[:port]`), or when its host (resolved) lies in one of the CIDRs
 *   listed there — 127.0.0.0/8 and ::1/128 always, which is why
 *   `localhost:5000` and `127.0.0.1:5000` need no configuration.
 */
export const DEFAULT_OFFICIAL_ENDPOINT = 'https://registry-1.docker.io';
export const INDEX_NAME = 'docker.io';

export interface Endpoint {
  url: URL;
  mirror: boolean;
  official: boolean;
  tls: HostTls | undefined;
}

export interface RegistrySettings {
  mirrors: string[];
  insecure: string[];
  certsDirs: string[];
  /** The hub's registry endpoint (tests point it at an unreachable local address). */
  officialEndpoint: string;
}

interface Cidr { bytes: Buffer; bits: number }

export class RegistryService {
  private readonly insecureNames = new Set<string>();
  private readonly cidrEntries: string[] = ['127.0.0.0/8', '::1/128'];
  private parsedCidrs?: Cidr[];

  constructor(readonly settings: RegistrySettings) {
    for (const entry of settings.insecure) {
      if (/\//.test(entry)) this.cidrEntries.push(entry);
      else this.insecureNames.add(normalizeIndexName(entry.replace(/^https?:\/\//, '').replace(/\/.*$/, '')));
    }
  }

  /**
   * The insecure CIDRs, parsed on first use: node's isIP compiles its IPv6
   * regex on the first call, ~8 ms that daemon start-up should not pay for
   * a lookup only pulls and pushes need. An entry with a slash that is no
   * CIDR is a registry name, as dockerd reads it.
   */
  private get cidrs(): Cidr[] {
    if (!this.parsedCidrs) {
      this.parsedCidrs = [];
      for (const entry of this.cidrEntries) {
        const cidr = parseCidr(entry);
        if (cidr) this.parsedCidrs.push(cidr);
        else this.insecureNames.add(normalizeIndexName(entry.replace(/^https?:\/\//, '').replace(/\/.*$/, '')));
      }
    }
    return this.parsedCidrs;
  }

  /** isSecureIndex. */
  async isSecure(indexName: string): Promise<boolean> {
    const name = normalizeIndexName(indexName);
    if (name === INDEX_NAME) return true;
    const cidrs = this.cidrs;
    if (this.insecureNames.has(name)) return false;
    const host = splitHost(name);
    let ips: string[];
    if (isIP(host)) ips = [host];
    else {
      try {
        ips = (await lookup(host, { all: true })).map((a) => a.address);
      } catch {
        return true; // unresolvable: secure, as dockerd
      }
    }
    return !ips.some((ip) => cidrs.some((c) => inCidr(ip, c)));
  }

  /** The endpoints to try, in order, for a registry host; `mirrors` only for pulls. */
  async endpoints(indexName: string, withMirrors: boolean): Promise<Endpoint[]> {
    const name = normalizeIndexName(indexName);
    const out: Endpoint[] = [];
    if (name === INDEX_NAME) {
      if (withMirrors) {
        for (const m of this.settings.mirrors) {
          const url = new URL(m);
          out.push({ url, mirror: true, official: true, tls: await this.tls(url.host, !(await this.isSecure(url.host))) });
        }
      }
      const url = new URL(this.settings.officialEndpoint);
      out.push({ url, mirror: false, official: true, tls: await this.tls(url.host, false) });
      return out;
    }
    const secure = await this.isSecure(name);
    out.push({ url: new URL(`https://${name}`), mirror: false, official: false, tls: await this.tls(name, !secure) });
    if (!secure) out.push({ url: new URL(`http://${name}`), mirror: false, official: false, tls: undefined });
    return out;
  }

  private tls(hostPort: string, insecure: boolean): Promise<HostTls> {
    return hostTls(this.settings.certsDirs, hostPort, insecure);
  }
}

/** normalizeIndexName: the legacy hub names mean docker.io. */
export function normalizeIndexName(name: string): string {
  const n = name.toLowerCase();
  return n === 'index.docker.io' || n === 'registry-1.docker.io' ? INDEX_NAME : n;
}

function splitHost(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i > 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort;
}

function ipBytes(ip: string): Buffer | null {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) !== 6) return null;
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : new Array(8 - h.length - r.length).fill('0');
  const groups = [...h, ...fill, ...r].map((g) => parseInt(g || '0', 16));
  const buf = Buffer.alloc(16);
  groups.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  if (v4) tail.forEach((b, i) => (buf[12 + i] = b));
  // IPv4-mapped addresses compare as IPv4.
  if (buf.subarray(0, 10).every((b) => b === 0) && buf[10] === 0xff && buf[11] === 0xff) return buf.subarray(12);
  return buf;
}

function parseCidr(s: string): Cidr | null {
  const [ip, bits] = s.split('/');
  const bytes = ipBytes(ip ?? '');
  const n = Number(bits);
  if (!bytes || !Number.isInteger(n) || n < 0 || n > bytes.length * 8) return null;
  return { bytes, bits: n };
}

function inCidr(ip: string, c: Cidr): boolean {
  const b = ipBytes(ip);
  if (!b || b.length !== c.bytes.length) return false;
  for (let i = 0; i < c.bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((b[byte]! & mask) !== (c.bytes[byte]! & mask)) return false;
  }
  return true;
}
