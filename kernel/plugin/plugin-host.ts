import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { POINTS, type ExtensionPointId } from '../contracts/extension-points.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import type { Scope } from '../container.js';
import { InvalidParameterError, UnavailableError, errorMessage } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { PluginState } from '../events/topics.js';
import type { Logger } from '../log.js';
import { SkipPlugin, type AnyManifest, type PluginContext, type PluginLifecycle } from './manifest.js';
import type { PluginRegistry } from './registry.js';
import { Slot, type Activation } from './slot.js';
import { timed } from './timing.js';

/** What `docker info` and the plugin listing show about one plugin. */
export interface PluginStatus {
  id: string;
  point: ExtensionPointId;
  name: string;
  state: PluginState | 'inactive' | 'disabled';
  reason?: string;
  /** Why the last reload could not swap this plugin (the previous instance kept serving). */
  reloadError?: string;
  /** Milliseconds each hook took. */
  timings: Partial<Record<'activate' | 'start' | 'stop' | 'dispose', number>>;
}

/** What `bootOne` needs from the boot in progress. */
interface BootState {
  disabled: Set<string>;
  required: Set<string>;
  candidates: Map<ExtensionPointId, string[]>;
  settle(id: string): Promise<void>;
  pointSettled(point: ExtensionPointId): Promise<void>;
}

interface Record_ {
  manifest: AnyManifest;
  status: PluginStatus;
  slot?: Slot<unknown>;
  started?: boolean;
}

/**
 * Runs plugins through their lifecycle — activate → start → stop → dispose,
 * shutdown in reverse order, each hook timed and each step idempotent — and
 * answers "who serves this point now". Skips (SkipPlugin) are recorded apart
 * from failures; a plugin listed in `berth.require` turns either into a fatal
 * startup error.
 */
export class PluginHost {
  private readonly records = new Map<string, Record_>();
  /** For single points: the plugin id currently serving it. */
  private readonly selected = new Map<ExtensionPointId, string>();
  private config!: DaemonConfig;
  /** The daemon's identity, set by the kernel before boot. */
  identity: { id: string; name: string } = { id: '', name: '' };
  private phase: 'new' | 'booted' | 'started' | 'stopped' = 'new';

  constructor(
    private readonly registry: PluginRegistry,
    private readonly root: Scope,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {
    for (const m of registry.ordered()) {
      this.records.set(m.id, { manifest: m, status: { id: m.id, point: m.point, name: m.name, state: 'inactive', timings: {} } });
    }
  }

  get daemonConfig(): Readonly<DaemonConfig> {
    return this.config;
  }

  /**
   * Activates every plugin that is selected and supported. A plugin waits only
   * for the providers of the points it requires, so independent plugins
   * activate concurrently: the API server builds its routes while the graph
   * driver waits for its test mount. Providers of a single point are still
   * tried one after another, in candidate order, until one is active.
   */
  async boot(config: DaemonConfig): Promise<void> {
    if (this.phase !== 'new') return;
    this.config = config;
    const disabled = new Set(config.berth?.disable ?? []);
    const required = new Set(config.berth?.require ?? []);
    const candidates = this.chooseCandidates(config, disabled);

    const settled = new Map<string, Promise<void>>();
    const settle = (id: string): Promise<void> => {
      let p = settled.get(id);
      if (!p) {
        p = this.bootOne(this.registry.get(id)!, config, { disabled, required, candidates, settle, pointSettled });
        settled.set(id, p);
      }
      return p;
    };
    const pointSettled = (point: ExtensionPointId) => Promise.all(this.registry.providers(point).map((m) => settle(m.id))).then(() => undefined);
    const ordered = this.registry.ordered();
    const results = await Promise.allSettled(ordered.map((m) => settle(m.id)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    for (const [point, ids] of candidates) {
      if (!this.selected.has(point) && ids.length === 0 && this.explicitSelection(config, point)) {
        throw new InvalidParameterError(`${POINTS[point].title} ${this.explicitSelection(config, point)} is not supported by any plugin`);
      }
    }
    this.phase = 'booted';
  }

  /** Decides and activates one plugin once what it depends on has settled. */
  private async bootOne(m: AnyManifest, config: DaemonConfig, b: BootState): Promise<void> {
    const rec = this.records.get(m.id)!;
    if (b.disabled.has(m.id)) { this.setState(rec, 'disabled', 'disabled in daemon.json (berth.disable)'); return; }
    const single = POINTS[m.point].cardinality === 'single';
    if (single) {
      const order = b.candidates.get(m.point) ?? [];
      const at = order.indexOf(m.id);
      if (at < 0) { this.setState(rec, 'inactive', 'not selected'); return; }
      // Single points: the previous candidate must have failed or skipped first.
      if (at > 0) await b.settle(order[at - 1]!);
      if (this.selected.has(m.point)) { this.setState(rec, 'inactive', `another ${POINTS[m.point].title} is active`); return; }
    }
    await Promise.all((m.requires ?? []).map((p) => b.pointSettled(p)));
    const missing = (m.requires ?? []).find((p) => !this.hasProvider(p));
    if (missing) {
      this.setState(rec, 'skipped', `requires a ${POINTS[missing].title}, and none is active`);
    } else {
      await this.activateInto(rec, config);
    }
    const explicit = single && this.explicitSelection(config, m.point) === m.name;
    if (rec.status.state !== 'active' && (b.required.has(m.id) || explicit)) {
      throw new InvalidParameterError(this.fatalMessage(m, rec.status));
    }
    if (rec.status.state === 'active' && single) this.selected.set(m.point, m.id);
  }

  /** Calls `start` on every active plugin, in activation order. */
  async start(): Promise<void> {
    if (this.phase !== 'booted') return;
    this.phase = 'started';
    for (const rec of this.records.values()) await this.startRecord(rec);
  }

  /** Stops and disposes every active plugin in reverse order; safe to call twice. */
  async shutdown(reason = 'shutdown'): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    for (const rec of [...this.records.values()].reverse()) {
      if (!rec.slot) continue;
      const slot = rec.slot;
      rec.slot = undefined;
      await slot.activation.retire(reason).catch((err) => this.log.error('plugin shutdown failed', { plugin: rec.manifest.id, error: err }));
      this.setState(rec, 'disposed');
    }
  }

  /**
   * Applies a reloaded configuration transactionally: every plugin whose
   * settings changed is prepared anew first; if any preparation fails, the new
   * instances are thrown away and the old config stays (the error is thrown).
   * Only then are the slots flipped, following each plugin's swap policy.
   */
  async reload(next: DaemonConfig, changed: readonly string[]): Promise<string[]> {
    const prev = this.config;
    const affected = [...this.records.values()].filter((r) => r.slot && this.isAffected(r.manifest, prev, next, changed));
    const prepared: Array<{ rec: Record_; activation: Activation<unknown> }> = [];
    const notes: string[] = [];
    let current: Record_ | undefined;
    try {
      for (const rec of affected) {
        if (rec.manifest.swap === 'restart-only') {
          notes.push(`${rec.manifest.id}: configuration change takes effect after a restart`);
          continue;
        }
        current = rec;
        const activation = await this.prepare(rec.manifest, next);
        prepared.push({ rec, activation });
      }
    } catch (err) {
      for (const p of prepared) await p.activation.retire('reload rolled back').catch(() => {});
      // Kept until a later reload of this plugin succeeds: `docker info` warns with it.
      if (current) current.status.reloadError = errorMessage(err);
      throw err;
    }
    for (const { rec } of prepared) delete rec.status.reloadError;
    this.config = next;
    for (const { rec, activation } of prepared) {
      const instance = activation.instance as PluginLifecycle;
      if (this.phase === 'started' && instance?.start) await timed(() => instance.start!(), (ms) => (rec.status.timings.start = ms));
      const old = rec.slot!;
      const drainMs = rec.manifest.swap === 'live' ? 0 : rec.manifest.drainTimeoutMs ?? 30_000;
      void old.swap(activation, drainMs).catch((err) => this.log.error('retiring swapped plugin failed', { plugin: rec.manifest.id, error: err }));
      notes.push(`${rec.manifest.id}: reactivated (${rec.manifest.swap})`);
      this.events.emit('plugin.state', { id: rec.manifest.id, point: rec.manifest.point, name: rec.manifest.name, state: 'active', reason: 'reloaded' });
    }
    return notes;
  }

  // --- lookups ---------------------------------------------------------------

  /** The instance serving a single point; throws UnavailableError when none is active. */
  current<T>(point: ExtensionPointId): T {
    const inst = this.tryCurrent<T>(point);
    if (inst === undefined) throw new UnavailableError(`no ${POINTS[point].title} is active`);
    return inst;
  }

  tryCurrent<T>(point: ExtensionPointId): T | undefined {
    const id = this.selected.get(point);
    return id ? (this.records.get(id)?.slot?.current() as T | undefined) : undefined;
  }

  /** Every active provider of a point, by Docker-visible name. */
  all<T>(point: ExtensionPointId): Map<string, T> {
    const out = new Map<string, T>();
    for (const rec of this.records.values()) {
      if (rec.manifest.point === point && rec.slot) out.set(rec.manifest.name, rec.slot.current() as T);
    }
    return out;
  }

  /** The slot of a provider, for callers that need leases across swaps. */
  slot<T>(point: ExtensionPointId, name?: string): Slot<T> | undefined {
    for (const rec of this.records.values()) {
      if (rec.manifest.point !== point || !rec.slot) continue;
      if (name === undefined ? this.selected.get(point) === rec.manifest.id : rec.manifest.name === name) return rec.slot as Slot<T>;
    }
    return undefined;
  }

  /** The Docker-visible name of the provider serving a single point. */
  selectedName(point: ExtensionPointId): string | undefined {
    const id = this.selected.get(point);
    return id ? this.records.get(id)?.manifest.name : undefined;
  }

  statuses(): PluginStatus[] {
    return [...this.records.values()].map((r) => ({ ...r.status, timings: { ...r.status.timings } }));
  }

  /**
   * Activates one provider of `point`, by Docker-visible name, outside the
   * daemon's selection: for one-off jobs such as moving images off the
   * storage driver used before (`berthd migrate-images`, or the image
   * store's opt-in migration at start). Nothing is published or started;
   * the caller retires the instance. A provider that skips itself here is
   * an error carrying the reason.
   */
  async activateDetached<T>(point: ExtensionPointId, name: string, config: DaemonConfig): Promise<{ instance: T; retire(): Promise<void> }> {
    const m = this.registry.providers(point).find((p) => p.name === name);
    if (!m) throw new InvalidParameterError(`${POINTS[point].title} ${name} is not supported by any plugin`);
    try {
      const a = await this.prepare(m, config);
      return { instance: a.instance as T, retire: () => a.retire('detached use finished') };
    } catch (err) {
      if (err instanceof SkipPlugin) throw new InvalidParameterError(`${POINTS[point].title} ${name} cannot be used here: ${err.reason}`);
      throw err;
    }
  }

  // --- internals ---------------------------------------------------------------

  private hasProvider(point: ExtensionPointId): boolean {
    return [...this.records.values()].some((r) => r.manifest.point === point && r.slot);
  }

  private explicitSelection(config: DaemonConfig, point: ExtensionPointId): string | undefined {
    const key = POINTS[point].selectKey;
    const fromKey = key ? (config[key] as string | undefined) : undefined;
    return fromKey || config.berth?.select?.[point];
  }

  /**
   * Which providers of each single point may be tried, in order: the one named
   * in daemon.json; else, as dockerd, the one with state under data-root (an
   * error if several have state), else all by priority.
   */
  private chooseCandidates(config: DaemonConfig, disabled: Set<string>): Map<ExtensionPointId, string[]> {
    const out = new Map<ExtensionPointId, string[]>();
    for (const decl of Object.values(POINTS)) {
      if (decl.cardinality !== 'single') continue;
      const providers = this.registry.providers(decl.id).filter((m) => !disabled.has(m.id));
      const wanted = this.explicitSelection(config, decl.id);
      if (wanted) {
        out.set(decl.id, providers.filter((m) => m.name === wanted).map((m) => m.id));
        continue;
      }
      const byPriority = [...providers].sort((a, b) => (a.priority ?? 100) - (b.priority ?? 100));
      if (decl.statefulByName) {
        const withState = byPriority.filter((m) => hasEntries(join(config['data-root'], m.name)));
        if (withState.length > 1) {
          throw new InvalidParameterError(
            `${config['data-root']} contains several valid ${decl.title}s, either cleanup or explicitly choose one (${withState.map((m) => m.name).join(', ')})`,
          );
        }
        if (withState.length === 1) { out.set(decl.id, [withState[0]!.id]); continue; }
      }
      out.set(decl.id, byPriority.map((m) => m.id));
    }
    return out;
  }

  private isAffected(m: AnyManifest, prev: DaemonConfig, next: DaemonConfig, changed: readonly string[]): boolean {
    if ((m.daemonKeys ?? []).some((k) => changed.includes(k))) return true;
    const before = JSON.stringify(prev.berth?.plugins?.[m.id] ?? null);
    const after = JSON.stringify(next.berth?.plugins?.[m.id] ?? null);
    return before !== after;
  }

  private async activateInto(rec: Record_, config: DaemonConfig): Promise<void> {
    try {
      const activation = await this.prepare(rec.manifest, config);
      rec.slot = new Slot(activation, rec.manifest.point, this.events);
      this.setState(rec, 'active');
    } catch (err) {
      if (err instanceof SkipPlugin) {
        this.setState(rec, 'skipped', err.reason);
        this.log.info('plugin skipped', { plugin: rec.manifest.id, reason: err.reason });
      } else {
        this.setState(rec, 'failed', errorMessage(err));
        this.log.warn('plugin failed to activate', { plugin: rec.manifest.id, error: err });
      }
    }
  }

  /** Activates one instance in its own child scope; nothing is published yet. */
  private async prepare(m: AnyManifest, config: DaemonConfig): Promise<Activation<unknown>> {
    // Most plugins never bind anything: create their DI scope on first use.
    let scope: Scope | undefined;
    const ctx: PluginContext<Record<string, unknown>> = {
      id: m.id,
      name: m.name,
      config: { ...(m.defaults?.() ?? {}), ...(config.berth?.plugins?.[m.id] ?? {}) },
      daemon: config,
      paths: {
        dataRoot: config['data-root'],
        execRoot: config['exec-root'],
        root: join(config['data-root'], m.name),
        state: join(config['exec-root'], m.id),
      },
      log: this.log.child({ plugin: m.id }),
      events: this.events,
      get scope() { return (scope ??= root.child()); },
      host: this,
    };
    const root = this.root;
    const rec = this.records.get(m.id)!;
    let instance: unknown;
    try {
      instance = await timed(() => m.activate(ctx), (ms) => (rec.status.timings.activate = ms));
    } catch (err) {
      await scope?.dispose();
      throw err;
    }
    let retired = false;
    return {
      pluginId: m.id,
      name: m.name,
      instance,
      retire: async (reason: string) => {
        if (retired) return;
        retired = true;
        const life = instance as PluginLifecycle | undefined;
        if (life?.stop) await timed(() => life.stop!(reason), (ms) => (rec.status.timings.stop = ms));
        if (life?.dispose) await timed(() => life.dispose!(), (ms) => (rec.status.timings.dispose = ms));
        await scope?.dispose();
      },
    };
  }

  private async startRecord(rec: Record_): Promise<void> {
    if (!rec.slot || rec.started) return;
    rec.started = true;
    const life = rec.slot.current() as PluginLifecycle | undefined;
    if (!life?.start) return;
    try {
      await timed(() => life.start!(), (ms) => (rec.status.timings.start = ms));
    } catch (err) {
      this.setState(rec, 'failed', `start: ${errorMessage(err)}`);
      const slot = rec.slot;
      rec.slot = undefined;
      await slot.activation.retire('start failed').catch(() => {});
      if (this.config.berth?.require?.includes(rec.manifest.id)) throw err;
      this.log.error('plugin failed to start', { plugin: rec.manifest.id, error: err });
    }
  }

  private fatalMessage(m: AnyManifest, s: PluginStatus): string {
    const what = `${POINTS[m.point].title} ${m.name} (plugin ${m.id})`;
    return `${what} cannot be used: ${s.state}${s.reason ? `: ${s.reason}` : ''}`;
  }

  private setState(rec: Record_, state: PluginStatus['state'], reason?: string): void {
    rec.status.state = state;
    rec.status.reason = reason;
    if (state !== 'inactive' && state !== 'disabled') {
      this.events.emit('plugin.state', { id: rec.manifest.id, point: rec.manifest.point, name: rec.manifest.name, state, reason });
    }
  }
}

function hasEntries(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}
