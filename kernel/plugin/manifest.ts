import type { ExtensionPointId } from '../contracts/extension-points.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Scope } from '../container.js';
import type { PluginHost } from './plugin-host.js';

/**
 * How an active plugin is replaced when its configuration changes while the
 * daemon runs (SIGHUP):
 * - `live`: stateless; the new instance takes over at once, the old is disposed.
 * - `drain`: new work goes to the new instance; the old one stays until its
 *   leases are released (running containers keep their exec driver).
 * - `restart-only`: owns state that cannot move (a graph driver's layers);
 *   a change is logged as needing a restart and the old instance stays.
 */
export type SwapPolicy = 'live' | 'drain' | 'restart-only';

/**
 * A plugin is plain data plus one `activate` function (containerd's
 * Registration): the kernel decides whether and when to call it.
 */
export interface PluginManifest<T = unknown, C extends object = Record<string, unknown>> {
  /** Unique id; also the folder name under plugins/ and the key in daemon.json `berth.plugins`. */
  id: string;
  /** The extension point this plugin serves. */
  point: ExtensionPointId;
  /** Docker-visible name (e.g. "overlay2", "runc", "bridge"). Unique per point. */
  name: string;
  description?: string;
  /** Points whose providers must be active before this plugin activates. */
  requires?: ExtensionPointId[];
  /** Defaults for the plugin's own section, `berth.plugins.<id>` in daemon.json. */
  defaults?: () => C;
  /** dockerd keys this plugin reads; a change of any of them on reload re-activates it per `swap`. */
  daemonKeys?: string[];
  swap: SwapPolicy;
  /**
   * `drain` only: how long a swapped-out instance keeps serving its leases
   * before it is retired anyway (default 30 s). `Infinity` waits for the last
   * lease: an exec driver's leases are running containers, which must stay
   * controllable (logs, exec, stop) for as long as they run.
   */
  drainTimeoutMs?: number;
  /** Auto-selection order among providers of a single point (lower first), as dockerd's priority list. */
  priority?: number;
  /**
   * Creates the instance. Throw `SkipPlugin` when the host cannot support it
   * (not a failure); anything else thrown is a failure.
   */
  activate(ctx: PluginContext<C>): Promise<T> | T;
}

/** Optional lifecycle hooks an instance may implement. All are called at most once per instance. */
export interface PluginLifecycle {
  /** After every plugin is activated: start serving (listen, start timers). */
  start?(): Promise<void> | void;
  /** Before shutdown or after a swap: stop taking new work. */
  stop?(reason: string): Promise<void> | void;
  /** Release everything. */
  dispose?(): Promise<void> | void;
}

export interface PluginPaths {
  /** The daemon's data root. */
  dataRoot: string;
  /** The daemon's exec root (runtime state, sockets). */
  execRoot: string;
  /** This plugin's persistent directory: `<data-root>/<name>` (dockerd's per-driver layout). */
  root: string;
  /** This plugin's runtime directory: `<exec-root>/<id>`. */
  state: string;
}

export interface PluginContext<C extends object = Record<string, unknown>> {
  readonly id: string;
  readonly name: string;
  /** `defaults()` merged with `berth.plugins.<id>`. */
  readonly config: C;
  readonly daemon: Readonly<DaemonConfig>;
  readonly paths: PluginPaths;
  readonly log: Logger;
  readonly events: EventBus;
  /** The plugin's own DI scope, disposed with it. */
  readonly scope: Scope;
  /** Looks up other plugins' instances by point; ask at use time, never cache across swaps. */
  readonly host: PluginHost;
}

/** Thrown from `activate` when the plugin cannot run on this host; carries the reason. */
export class SkipPlugin extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SkipPlugin';
  }
}

/** Identity helper that keeps the manifest's types checked. */
export function definePlugin<T, C extends object = Record<string, unknown>>(m: PluginManifest<T, C>): PluginManifest<T, C> {
  return m;
}

// Manifests of different types live in one list.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyManifest = PluginManifest<any, any>;
