import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { replaceFile, type ContainerRecord, type DaemonConfig, type RunMount, type SandboxEtc } from '../../kernel/index.js';

/**
 * The three files dockerd generates for every container in its directory
 * and bind-mounts over the image's copies (libnetwork's sandbox files):
 * /etc/hostname, /etc/hosts (the default entries plus `--add-host`) and
 * /etc/resolv.conf (the host's, minus nameservers on localhost that a
 * container could never reach, or `--dns`/daemon.json `dns`). With
 * `--network host` the host's own hosts and resolv.conf are copied as they are.
 */
export interface EtcFiles {
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
}

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** libnetwork's fallback when no usable nameserver is left. */
const DEFAULT_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

/** `net`: the container's own addresses and, on user-defined networks, the embedded DNS (from the network service). */
export async function writeEtcFiles(dir: string, c: ContainerRecord, daemon: Readonly<DaemonConfig>, net?: SandboxEtc): Promise<EtcFiles> {
  const files: EtcFiles = { HostnamePath: join(dir, 'hostname'), HostsPath: join(dir, 'hosts'), ResolvConfPath: join(dir, 'resolv.conf') };
  const hostNet = c.HostConfig.NetworkMode === 'host';
  // Rewritten from the record at every start: renamed into place, no fsync (a crash loses nothing of record).
  // The three files are independent: written side by side (each its own open, write, rename).
  const hostname = replaceFile(files.HostnamePath, `${c.Config.Hostname || osHostname()}\n`, 0o644);
  const extraHosts = (c.HostConfig.ExtraHosts as string[] | null | undefined) ?? [];
  const hosts = (async () => {
    const text = hostNet ? await readFile('/etc/hosts', 'utf8').catch(() => DEFAULT_HOSTS.join('\n') + '\n') : hostsContent(extraHosts, net?.hosts);
    await replaceFile(files.HostsPath, text, 0o644);
  })();
  const resolvConf = (async () => {
    const hostResolv = await readHostResolvConf();
    const resolv = hostNet ? hostResolv : resolvConfContent(hostResolv, {
      // The embedded DNS forwards to the container's `--dns` servers itself; the container asks only it.
      dns: net?.embeddedDns ? [net.embeddedDns.nameserver] : nonEmpty(c.HostConfig.Dns as string[] | null | undefined) ?? nonEmpty(daemon.dns as string[] | undefined),
      embedded: net?.embeddedDns !== undefined,
      search: nonEmpty(c.HostConfig.DnsSearch as string[] | null | undefined) ?? nonEmpty(daemon['dns-search'] as string[] | undefined),
      options: nonEmpty(c.HostConfig.DnsOptions as string[] | null | undefined) ?? nonEmpty(daemon['dns-opts'] as string[] | undefined),
    });
    await replaceFile(files.ResolvConfPath, resolv, 0o644);
  })();
  // allSettled first: no write is left running when the first failure is reported.
  const settled = await Promise.allSettled([hostname, hosts, resolvConf]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return files;
}

/** The bind mounts for the files, unless the user mounts something at the same place (dockerd's NetworkMounts). */
export function etcMounts(files: EtcFiles, readonlyRootfs: boolean, userDestinations: ReadonlySet<string>): RunMount[] {
  const all: RunMount[] = [
    { Source: files.ResolvConfPath, Destination: '/etc/resolv.conf', Type: 'bind', ReadOnly: readonlyRootfs, Propagation: 'rprivate' },
    { Source: files.HostnamePath, Destination: '/etc/hostname', Type: 'bind', ReadOnly: readonlyRootfs, Propagation: 'rprivate' },
    { Source: files.HostsPath, Destination: '/etc/hosts', Type: 'bind', ReadOnly: readonlyRootfs, Propagation: 'rprivate' },
  ];
  return all.filter((m) => !userDestinations.has(m.Destination));
}

/** libnetwork etchosts.Build: the defaults, then `--add-host name:ip` as `ip\tname`, then the container's own addresses. */
export function hostsContent(extraHosts: string[], own: Array<{ ip: string; names: string[] }> = []): string {
  const lines = [...DEFAULT_HOSTS];
  for (const e of extraHosts) {
    const sep = e.search(/[:=]/);
    if (sep <= 0) continue;
    lines.push(`${e.slice(sep + 1)}\t${e.slice(0, sep)}`);
  }
  for (const o of own) lines.push(`${o.ip}\t${o.names.join(' ')}`);
  return lines.join('\n') + '\n';
}

/**
 * The container's resolv.conf from the host's: `--dns` replaces the
 * nameservers, `--dns-search` the search line, `--dns-option` the options;
 * nameservers on localhost are dropped (libnetwork FilterResolvDNS), and
 * when none is left, Google's public ones are used as dockerd does.
 */
export function resolvConfContent(host: string, over: { dns?: string[]; search?: string[]; options?: string[]; embedded?: boolean }): string {
  const keep: string[] = [];
  let nameservers: string[] = [];
  let search: string[] = [];
  let options: string[] = [];
  for (const raw of host.split('\n')) {
    const line = raw.trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') search = rest;
    else if (key === 'options') options.push(...rest);
    else if (line && !line.startsWith('#') && !line.startsWith(';')) keep.push(line);
  }
  if (over.dns) nameservers = over.dns;
  else nameservers = nameservers.filter((ns) => !isLocalhost(ns));
  if (nameservers.length === 0) nameservers = [...DEFAULT_NAMESERVERS];
  if (over.search) search = over.search.filter((s) => s !== '.');
  if (over.options) options = over.options;
  // libnetwork with the internal resolver: ndots:0 unless the user chose, so single names go to it first.
  if (over.embedded && !options.some((o) => o.startsWith('ndots:'))) options = [...options, 'ndots:0'];
  const out = [...keep];
  if (search.length) out.push(`search ${search.join(' ')}`);
  for (const ns of nameservers) out.push(`nameserver ${ns}`);
  if (options.length) out.push(`options ${options.join(' ')}`);
  return out.join('\n') + '\n';
}

/** The host's resolv.conf; systemd-resolved's stub (127.0.0.53 only) is swapped for its upstream file, as dockerd does. */
async function readHostResolvConf(): Promise<string> {
  const etc = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const servers = [...etc.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  if (servers.length > 0 && servers.every((s) => s === '127.0.0.53')) {
    const upstream = await readFile('/run/systemd/resolve/resolv.conf', 'utf8').catch(() => undefined);
    if (upstream !== undefined) return upstream;
  }
  return etc;
}

function isLocalhost(ns: string): boolean {
  return /^127\./.test(ns) || ns === '::1' || ns === '0:0:0:0:0:0:0:1';
}

function nonEmpty<T>(a: T[] | null | undefined): T[] | undefined {
  return a && a.length > 0 ? a : undefined;
}
