/**
 * The daemon's configuration: dockerd's daemon.json keys (kebab-case, with
 * dockerd's meaning) plus one Berth section, `berth`, for plugin selection and
 * per-plugin settings. Flags and the file are merged into one of these; plugins
 * read it, never the file.
 */
export interface BerthSection {
  /** Per-plugin settings, keyed by plugin id: `{"graph-overlay": {...}}`. */
  plugins?: Record<string, Record<string, unknown>>;
  /** Plugin ids not to load at all. */
  disable?: string[];
  /** Plugin ids whose skip or failure is fatal at startup. */
  require?: string[];
  /** For single-provider extension points without a dockerd key: point id → Docker-visible name. */
  select?: Record<string, string>;
}

export interface RuntimeConfig {
  path?: string;
  runtimeArgs?: string[];
  runtimeType?: string;
  options?: Record<string, unknown>;
}

export interface DaemonConfig {
  hosts: string[];
  'data-root': string;
  'exec-root': string;
  pidfile: string;
  debug: boolean;
  'log-level': string;
  'log-format'?: string;
  group?: string;
  labels: string[];
  experimental: boolean;
  'min-api-version'?: string;
  'storage-driver'?: string;
  'storage-opts': string[];
  'default-runtime'?: string;
  runtimes: Record<string, RuntimeConfig>;
  'live-restore': boolean;
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
  'registry-mirrors': string[];
  'insecure-registries': string[];
  'max-concurrent-downloads'?: number;
  'max-concurrent-uploads'?: number;
  'max-download-attempts'?: number;
  'shutdown-timeout'?: number;
  features?: Record<string, boolean>;
  berth: BerthSection;
  // --- further dockerd keys (see keys.ts for defaults and reload rules) ---
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  'raw-logs'?: boolean;
  'authorization-plugins'?: string[];
  'metrics-addr'?: string;
  'default-stop-timeout'?: number;
  /** Proxy settings: nested under `proxies` in daemon.json, flat here (as dockerd's flags name them). */
  'http-proxy'?: string;
  'https-proxy'?: string;
  'no-proxy'?: string;
  containerd?: string;
  'containerd-namespace'?: string;
  'containerd-plugins-namespace'?: string;
  'cri-containerd'?: boolean;
  'cdi-spec-dirs'?: string[];
  'nri-opts'?: Record<string, unknown>;
  builder?: Record<string, unknown>;
  'swarm-default-advertise-addr'?: string;
  'node-generic-resources'?: string[];
  'network-diagnostic-port'?: number;
  'seccomp-profile'?: string;
  'selinux-enabled'?: boolean;
  'userns-remap'?: string;
  'no-new-privileges'?: boolean;
  rootless?: boolean;
  'exec-opts'?: string[];
  'cgroup-parent'?: string;
  'default-cgroupns-mode'?: string;
  'default-ipc-mode'?: string;
  /** A size string such as `64M`, kept as written (dockerd requires a JSON string). */
  'default-shm-size'?: string;
  'default-ulimits'?: Record<string, { Name?: string; Soft?: number; Hard?: number }>;
  init?: boolean;
  'init-path'?: string;
  'cpu-rt-period'?: number;
  'cpu-rt-runtime'?: number;
  bridge?: string;
  bip?: string;
  bip6?: string;
  'fixed-cidr'?: string;
  'fixed-cidr-v6'?: string;
  'default-gateway'?: string;
  'default-gateway-v6'?: string;
  ip?: string;
  icc?: boolean;
  iptables?: boolean;
  ip6tables?: boolean;
  'ip-forward'?: boolean;
  'ip-forward-no-drop'?: boolean;
  'ip-masq'?: boolean;
  ipv6?: boolean;
  mtu?: number;
  'userland-proxy'?: boolean;
  'userland-proxy-path'?: string;
  'allow-direct-routing'?: boolean;
  'bridge-accept-fwmark'?: string;
  'firewall-backend'?: string;
  'default-address-pools'?: Array<{ base: string; size: number }>;
  'default-network-opts'?: Record<string, Record<string, string>>;
  'network-control-plane-mtu'?: number;
  dns?: string[];
  'dns-opts'?: string[];
  'dns-search'?: string[];
  /** What `host-gateway` resolves to; the legacy single `host-gateway-ip` is migrated into it. */
  'host-gateway-ips'?: string[];
  /** Every other dockerd key, already validated. */
  [key: string]: unknown;
}

/** Where Berth keeps its files unless told otherwise: never dockerd's paths. */
export const BERTH_DEFAULTS = {
  configFile: '/etc/berth/daemon.json',
  host: 'unix:///run/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  pidfile: '/run/berth.pid',
} as const;
