import { existsSync } from 'node:fs';
import { BERTH_DEFAULTS, type DaemonConfig } from './daemon-config.js';
import { berthSectionProblems } from './berth-section.js';
import * as v from './validators.js';

/**
 * The one table of daemon.json keys (Linux dockerd, plus Berth's `berth`
 * section). Parsing, flag merging, defaults, validation and SIGHUP reload all
 * read it, so a key's behaviour is decided in exactly one place.
 */

/** JSON shapes: `map` is string→string; `object-map` is name→struct; `object[]` a list of structs. */
export type JsonType =
  | 'string' | 'bool' | 'int' | 'string[]' | 'size'
  | 'map' | 'bool-map' | 'map-map' | 'object' | 'object-map' | 'object[]';

/** Member types of the structs inside `object`, `object-map` and `object[]` keys (others pass unchecked, as in Go). */
export type FieldType = 'string' | 'bool' | 'int' | 'string[]' | 'any';

/**
 * What SIGHUP does with a key absent from the reloaded file (dockerd's reload.go):
 * `keep` the current value, `reset` to the default, `replace` wholesale (absent = empty),
 * or `restart`: not reloadable, the current value stays until the daemon restarts.
 */
export type ReloadRule = 'keep' | 'reset' | 'replace' | 'restart';

/** Returns dockerd's message(s) for a bad value; sees the whole merged config for cross-key rules. */
export type Validator = (value: any, cfg: Readonly<DaemonConfig>) => string | readonly string[] | undefined;

export interface KeySpec {
  readonly type: JsonType;
  /** Not flattened into its children when nested (dockerd's flatOptions). */
  readonly flat?: boolean;
  /** The key is only read from inside this object in daemon.json (dockerd's `proxies`). */
  readonly parent?: 'proxies';
  readonly fields?: Readonly<Record<string, FieldType>>;
  /** The Go type named in type errors, where it is not evident from `type`. */
  readonly go?: string;
  readonly reload: ReloadRule;
  /** The value when neither file nor flag sets it; a function when it depends on the host. */
  readonly default?: unknown;
  readonly validate?: Validator;
}

/** Runtimes every Berth daemon has without configuration. */
export const BUILTIN_RUNTIMES: readonly string[] = ['runc', 'lxc'];

/** cgroup v2 hosts default to a private cgroup namespace, v1 hosts to the host's (dockerd's rule). */
function defaultCgroupnsMode(): string {
  return existsSync('/sys/fs/cgroup') && !existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'host' : 'private';
}

const each = (check: (s: string) => string | undefined): Validator =>
  (list: string[]) => list.map(check).filter((m): m is string => m !== undefined);
const nonNegative = (what: string): Validator => (n: number) => (n < 0 ? `invalid ${what}: ${n}` : undefined);

const R = (reload: ReloadRule, type: JsonType, more: Omit<KeySpec, 'reload' | 'type'> = {}): KeySpec => ({ type, reload, ...more });

export const KEYS: Readonly<Record<string, KeySpec>> = {
  // --- process, API and security ---
  hosts: R('restart', 'string[]', { default: [BERTH_DEFAULTS.host], validate: each(v.hostProblem) }),
  tls: R('restart', 'bool', { default: false }),
  tlsverify: R('restart', 'bool', { default: false }),
  tlscacert: R('restart', 'string'),
  tlscert: R('restart', 'string'),
  tlskey: R('restart', 'string'),
  group: R('restart', 'string', { default: 'docker' }),
  pidfile: R('restart', 'string', { default: BERTH_DEFAULTS.pidfile }),
  'data-root': R('restart', 'string', { default: BERTH_DEFAULTS.dataRoot }),
  'exec-root': R('restart', 'string', { default: BERTH_DEFAULTS.execRoot }),
  debug: R('keep', 'bool', { default: false }),
  'log-level': R('restart', 'string', {
    default: 'info',
    validate: (s: string) => (['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(s.toLowerCase()) ? undefined : `invalid logging level: ${s}`),
  }),
  'log-format': R('restart', 'string', { default: 'text', validate: (s: string) => (s === 'text' || s === 'json' ? undefined : `invalid log format: ${s}`) }),
  'raw-logs': R('restart', 'bool', { default: false }),
  labels: R('keep', 'string[]', { default: [], validate: (l: string[]) => [...l.map(v.labelProblem).filter((m): m is string => m !== undefined), ...v.labelConflicts(l)] }),
  experimental: R('restart', 'bool', { default: false }),
  features: R('replace', 'bool-map', {
    flat: true, default: {},
    validate: (f: Record<string, boolean>) => ('windows-dns-proxy' in f ? "feature option 'windows-dns-proxy' is only available on Windows" : undefined),
  }),
  'authorization-plugins': R('replace', 'string[]', { default: [] }),
  'metrics-addr': R('restart', 'string'),
  'shutdown-timeout': R('keep', 'int', { default: 15 }),
  'default-stop-timeout': R('keep', 'int', { default: 10, validate: nonNegative('default stop timeout') }),
  'min-api-version': R('restart', 'string', { validate: v.minApiVersionProblem }),
  'http-proxy': R('restart', 'string', { parent: 'proxies' }),
  'https-proxy': R('restart', 'string', { parent: 'proxies' }),
  'no-proxy': R('restart', 'string', { parent: 'proxies' }),
  containerd: R('restart', 'string'),
  'containerd-namespace': R('restart', 'string', { default: 'moby' }),
  'containerd-plugins-namespace': R('restart', 'string', {
    default: 'plugins.moby',
    validate: (ns: string, c) => (ns === c['containerd-namespace'] ? 'containers namespace and plugins namespace cannot be the same' : undefined),
  }),
  'cri-containerd': R('restart', 'bool', { default: false }),
  'cdi-spec-dirs': R('restart', 'string[]', { default: ['/etc/cdi', '/var/run/cdi'] }),
  'nri-opts': R('reset', 'object', {
    flat: true, default: {}, go: 'opts.NRIConfig',
    fields: { enable: 'bool', 'plugin-path': 'string', 'plugin-config-path': 'string', 'socket-path': 'string' },
  }),
  builder: R('restart', 'object', { flat: true, go: 'config.BuilderConfig' }),
  'swarm-default-advertise-addr': R('restart', 'string'),
  'node-generic-resources': R('restart', 'string[]', {
    default: [],
    validate: each((s) => (s.includes('=') ? undefined : `invalid node-generic-resource format \`${s}\` expected \`name=value\``)),
  }),
  'network-diagnostic-port': R('reset', 'int', {
    default: 0,
    validate: (n: number) => (n < 0 || n > 65535 ? `invalid network-diagnostic-port (${n}): value must be between 0 and 65535` : undefined),
  }),
  'seccomp-profile': R('restart', 'string', { default: 'builtin' }),
  'selinux-enabled': R('restart', 'bool', { default: false }),
  'userns-remap': R('restart', 'string'),
  'no-new-privileges': R('restart', 'bool', { default: false }),
  rootless: R('restart', 'bool', { default: false }),

  // --- storage ---
  'storage-driver': R('restart', 'string', {
    validate: (d: string) => (d === 'aufs' || d === 'overlay'
      ? `error initializing graphdriver: [graphdriver] ERROR: the ${d} storage-driver has been deprecated and removed; visit https://docs.docker.com/go/storage-driver/ for more information: ${d}`
      : undefined),
  }),
  'storage-opts': R('restart', 'string[]', { default: [] }),

  // --- runtimes and container defaults ---
  // runtimes first: dockerd reports the reserved name before a missing default.
  runtimes: R('keep', 'object-map', {
    flat: true, default: {}, go: 'system.Runtime',
    fields: { path: 'string', runtimeArgs: 'string[]', runtimeType: 'string', options: 'any' },
    validate: v.runtimeProblems,
  }),
  'default-runtime': R('keep', 'string', {
    default: 'runc',
    validate: (name: string, c) => (name === '' || BUILTIN_RUNTIMES.includes(name) || Object.hasOwn(c.runtimes ?? {}, name)
      ? undefined : `specified default runtime '${name}' does not exist`),
  }),
  'exec-opts': R('restart', 'string[]', { default: [], validate: each(v.execOptProblem) }),
  'cgroup-parent': R('restart', 'string', {
    validate: (p: string, c) => (p !== '' && v.cgroupDriver(c['exec-opts']) === 'systemd' && (p.length <= 6 || !p.endsWith('.slice'))
      ? 'cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"' : undefined),
  }),
  'default-cgroupns-mode': R('keep', 'string', { default: defaultCgroupnsMode, validate: v.cgroupnsModeProblem }),
  'default-ipc-mode': R('keep', 'string', { default: 'private', validate: v.ipcModeProblem }),
  'default-shm-size': R('keep', 'size', { default: '64M', validate: v.sizeProblem }),
  'default-ulimits': R('restart', 'object-map', { flat: true, default: {}, go: 'container.Ulimit', fields: { Name: 'string', Soft: 'int', Hard: 'int' } }),
  init: R('restart', 'bool', { default: false }),
  'init-path': R('restart', 'string'),
  'cpu-rt-period': R('restart', 'int', { default: 0 }),
  'cpu-rt-runtime': R('restart', 'int', { default: 0 }),
  'log-driver': R('restart', 'string', { default: 'json-file' }),
  'log-opts': R('restart', 'map', { flat: true, default: {} }),
  'live-restore': R('keep', 'bool', { default: false }),

  // --- networking ---
  bridge: R('restart', 'string', {
    validate: (b: string, c) => (b === '' ? undefined : [
      ...(c.bip ? ['You specified -b & --bip, mutually exclusive options. Please specify only one'] : []),
      ...(c.bip6 ? ['You specified -b & --bip6, mutually exclusive options. Please specify only one'] : []),
    ]),
  }),
  bip: R('restart', 'string', { validate: (s: string) => (s === '' ? undefined : v.cidrProblem('bip', s)) }),
  bip6: R('restart', 'string', { validate: (s: string) => (s === '' ? undefined : v.cidrProblem('bip6', s, 6)) }),
  'fixed-cidr': R('restart', 'string', { validate: (s: string) => (s === '' ? undefined : v.cidrProblem('fixed-cidr', s)) }),
  'fixed-cidr-v6': R('restart', 'string', { validate: (s: string) => (s === '' ? undefined : v.cidrProblem('fixed-cidr-v6', s, 6)) }),
  'default-gateway': R('restart', 'string', { validate: (s: string) => v.ipProblem('default-gateway', s) }),
  'default-gateway-v6': R('restart', 'string', { validate: (s: string) => v.ipProblem('default-gateway-v6', s) }),
  ip: R('restart', 'string', { default: '0.0.0.0', validate: (s: string) => v.ipProblem('ip', s) }),
  icc: R('restart', 'bool', {
    default: true,
    validate: (on: boolean, c) => {
      if (on) return undefined;
      if (c.iptables === false) return 'You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true';
      if (c.ipv6 && c.ip6tables === false) return 'You specified --ip6tables=false with --icc=false. ICC=false uses ip6tables to function. Please set --icc or --ip6tables to true';
      return undefined;
    },
  }),
  iptables: R('restart', 'bool', { default: true }),
  ip6tables: R('restart', 'bool', { default: true }),
  'ip-forward': R('restart', 'bool', { default: true }),
  'ip-forward-no-drop': R('restart', 'bool', { default: false }),
  'ip-masq': R('restart', 'bool', { default: true }),
  ipv6: R('restart', 'bool', { default: false }),
  mtu: R('restart', 'int', { default: 1500, validate: nonNegative('default MTU') }),
  'userland-proxy': R('restart', 'bool', { default: true }),
  'userland-proxy-path': R('restart', 'string', {
    validate: (p: string, c) => (c['userland-proxy'] !== false && p !== '' && !p.startsWith('/') ? `invalid userland-proxy-path: must be an absolute path: ${p}` : undefined),
  }),
  'allow-direct-routing': R('restart', 'bool', { default: false }),
  'bridge-accept-fwmark': R('restart', 'string', { validate: (s: string) => (s === '' ? undefined : v.fwMarkProblem(s)) }),
  'firewall-backend': R('restart', 'string', {
    validate: (s: string) => (['', 'iptables', 'nftables'].includes(s) ? undefined : 'invalid firewall-backend: allowed values are "iptables" and "nftables"'),
  }),
  'default-address-pools': R('restart', 'object[]', { go: 'ipamutils.NetworkToSplit', fields: { base: 'string', size: 'int' }, validate: v.poolProblems }),
  'default-network-opts': R('restart', 'map-map', { flat: true, default: {} }),
  'network-control-plane-mtu': R('restart', 'int', { default: 1500 }),
  dns: R('restart', 'string[]', { default: [], validate: each((s) => v.ipProblem('dns', s)) }),
  'dns-opts': R('restart', 'string[]', { default: [] }),
  'dns-search': R('restart', 'string[]', { default: [], validate: each(v.domainProblem) }),
  'host-gateway-ips': R('restart', 'string[]', { default: [], validate: v.hostGatewayProblems }),
  /** Legacy single address; merge moves it into host-gateway-ips, as dockerd's migratedNamedConfig. */
  'host-gateway-ip': R('restart', 'string', { validate: (s: string) => v.ipProblem('host-gateway-ip', s) }),

  // --- registry / distribution ---
  'registry-mirrors': R('keep', 'string[]', { default: [], validate: each(v.mirrorProblem) }),
  'insecure-registries': R('keep', 'string[]', { default: [], validate: each(v.indexNameProblem) }),
  'max-concurrent-downloads': R('reset', 'int', { default: 3, validate: nonNegative('max concurrent downloads') }),
  'max-concurrent-uploads': R('reset', 'int', { default: 5, validate: nonNegative('max concurrent uploads') }),
  'max-download-attempts': R('reset', 'int', { default: 5, validate: nonNegative('max download attempts') }),

  // --- Berth's own section ---
  berth: R('replace', 'object', { flat: true, default: {}, go: 'config.BerthSection', validate: berthSectionProblems }),
};

/**
 * Keys dockerd accepts and then ignores: deprecated-but-tolerated keys, and
 * flag spellings (`host`, `label`, …) that pass its unknown-key check because
 * they are long flag names, yet are never decoded. Accepted here for the same
 * files to load; dropped from the result.
 */
export const IGNORED_KEYS: ReadonlySet<string> = new Set([
  'deprecated-key-path', 'allow-nondistributable-artifacts',
  'host', 'label', 'registry-mirror', 'insecure-registry', 'storage-opt', 'authorization-plugin', 'exec-opt',
  'feature', 'default-network-opt', 'dns-opt', 'log-opt', 'node-generic-resource', 'cdi-spec-dir',
  'default-address-pool', 'add-runtime', 'default-ulimit', 'config-file', 'validate', 'version', 'restart', 'help',
]);

/** Keys removed from dockerd that still get their own message instead of "unknown". */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  graph: 'the "graph" config file option is deprecated; use "data-root" instead',
  'api-cors-header': 'DEPRECATED: The "api-cors-header" config parameter and the dockerd "--api-cors-header" option have been removed; use a reverse proxy if you need CORS headers',
};

/** The spec of a daemon.json key; own keys only, so `constructor` or `__proto__` are not "known". */
export function specOf(key: string): KeySpec | undefined {
  return Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
}

/** dockerd's message for a key it removed, if `key` is one. */
export function removedMessage(key: string): string | undefined {
  return Object.hasOwn(REMOVED_KEYS, key) ? REMOVED_KEYS[key] : undefined;
}

/** The default of a key as a fresh value (never shared between configs). */
export function defaultOf(key: string): unknown {
  const d = specOf(key)?.default;
  return typeof d === 'function' ? (d as () => unknown)() : d === undefined ? undefined : structuredClone(d);
}
