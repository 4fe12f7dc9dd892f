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
  /** Every other dockerd key, already validated. */
  [key: string]: unknown;
}

/** Where Berth keeps its files unless told otherwise: never dockerd's paths. */
export const BERTH_DEFAULTS = {
  configFile: '/etc/berth/daemon.json',
  host: 'unix:///run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  pidfile: '/run/berth/berthd.pid',
} as const;
