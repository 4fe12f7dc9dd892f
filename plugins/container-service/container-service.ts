import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  dockerEvent,
  ExtensionPoint,
  type ContainerRecord,
  type ContainerService,
  type CreateContainerRequest,
  type DaemonConfig,
  type EventBus,
  type ExecDriver,
  type GraphDriver,
  type ImageStore,
  type Logger,
  type PluginHost,
} from '../../kernel/index.js';
import { ContainerStore } from './container-store.js';
import { chooseRuntime, validateHostConfig } from './host-config-rules.js';
import { populateInitLayer } from './init-layer.js';
import { commandOf, mergeImageConfig } from './merge-image-config.js';
import { canonicalName, generateName } from './names.js';
import { GO_ZERO_TIME, nowRfc3339Nano } from './time-format.js';

export interface ContainerServiceDeps {
  root: string;
  host: PluginHost;
  events: EventBus;
  log: Logger;
  daemon(): Readonly<DaemonConfig>;
}

/**
 * Containers' configuration and lifecycle bookkeeping. Creation resolves the
 * image, merges its config, validates HostConfig, and prepares the root
 * filesystem as dockerd does: an `<id>-init` layer on the image's top layer
 * holding the init files, and the writable `<id>` layer on top of it.
 */
export class LocalContainerService implements ContainerService {
  private readonly store: ContainerStore;

  private constructor(private readonly deps: ContainerServiceDeps) {
    this.store = new ContainerStore(deps.root, deps.log);
  }

  static async open(deps: ContainerServiceDeps): Promise<LocalContainerService> {
    const svc = new LocalContainerService(deps);
    const orphans = await svc.store.load();
    for (const id of orphans) await svc.releaseLayers(id).then(() => svc.store.delete(id));
    if (orphans.length) deps.log.info('removed containers left half-created by a crash', { count: orphans.length });
    return svc;
  }

  async counts(): Promise<{ running: number; paused: number; stopped: number }> {
    let running = 0;
    let paused = 0;
    let stopped = 0;
    for (const c of this.store.all()) {
      if (c.State.Paused) paused++;
      else if (c.State.Running) running++;
      else stopped++;
    }
    return { running, paused, stopped };
  }

  async create(req: CreateContainerRequest): Promise<{ id: string; warnings: string[] }> {
    const images = this.deps.host.current<ImageStore>(ExtensionPoint.ImageStore);
    const graph = this.deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    const image = await images.get(req.config.Image); // 404 "No such image: …"
    const hostConfig = { ...req.hostConfig };
    validateHostConfig(hostConfig);
    const config = mergeImageConfig({ ...req.config }, image.config.config);
    const { path, args } = commandOf(config);
    const runtime = chooseRuntime(hostConfig.Runtime, this.deps.daemon()['default-runtime'], this.knownRuntimes());
    hostConfig.Runtime = runtime;

    const id = randomBytes(32).toString('hex');
    const name = this.reserveName(req.name, id);
    if (!config.Hostname) config.Hostname = id.slice(0, 12);
    try {
      // Held like dockerd's layerdb/mounts/<id>: the image's layers outlive `rmi -f` while the container exists.
      const top = await images.holdLayers(id, image.id);
      await graph.createReadWrite(`${id}-init`, top);
      const initRoot = await graph.get(`${id}-init`);
      try {
        await populateInitLayer(initRoot);
      } finally {
        await graph.put(`${id}-init`);
      }
      await graph.createReadWrite(id, `${id}-init`);
      const rec: ContainerRecord = {
        Id: id,
        Name: name,
        Created: nowRfc3339Nano(),
        Path: path,
        Args: args,
        Image: image.id,
        ImageName: req.config.Image,
        Config: config,
        HostConfig: hostConfig,
        NetworkingConfig: { EndpointsConfig: (req.networkingConfig?.EndpointsConfig ?? {}) as Record<string, unknown> },
        State: {
          Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
          Pid: 0, ExitCode: 0, Error: '', StartedAt: GO_ZERO_TIME, FinishedAt: GO_ZERO_TIME,
        },
        Driver: graph.name,
        Runtime: runtime,
        RestartCount: 0,
        Platform: 'linux',
      };
      await this.store.save(rec);
      this.emit('create', rec);
      return { id, warnings: [] };
    } catch (err) {
      this.store.releaseName(name, id);
      await this.releaseLayers(id);
      throw err;
    }
  }

  async get(ref: string): Promise<ContainerRecord> {
    return this.store.resolve(ref);
  }

  async list(): Promise<ContainerRecord[]> {
    return this.store.all();
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.store.resolve(ref);
    const name = canonicalName(newName);
    if (name === rec.Name) throw new ConflictError(`Renaming a container with the same name as its current name`);
    this.store.reserveName(name, rec.Id);
    const oldName = rec.Name;
    try {
      await this.store.save({ ...rec, Name: name });
    } catch (err) {
      this.store.releaseName(name, rec.Id);
      throw err;
    }
    this.store.releaseName(oldName, rec.Id);
    this.emit('rename', this.store.resolve(rec.Id), { oldName });
  }

  async remove(ref: string, opts: { force: boolean; removeVolumes: boolean }): Promise<void> {
    const rec = this.store.resolve(ref);
    if (rec.State.Running && !opts.force) {
      throw new ConflictError(`You cannot remove a running container ${rec.Id}. Stop the container before attempting removal or force remove`);
    }
    await this.releaseLayers(rec.Id);
    await this.store.delete(rec.Id);
    this.emit('destroy', rec);
  }

  async prune(filter: (c: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.store.all()) {
      if (c.State.Running || c.State.Paused || !filter(c)) continue;
      reclaimed += (await this.sizes(c.Id).catch(() => ({ rw: 0 }))).rw;
      await this.remove(c.Id, { force: false, removeVolumes: false });
      deleted.push(c.Id);
    }
    return { deleted, reclaimed };
  }

  async sizes(ref: string): Promise<{ rw: number; rootFs: number }> {
    const rec = this.store.resolve(ref);
    const graph = this.deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    const rw = await graph.diffSize(rec.Id, `${rec.Id}-init`);
    const image = await this.deps.host.current<ImageStore>(ExtensionPoint.ImageStore).get(rec.Image).catch(() => undefined);
    return { rw, rootFs: rw + (image?.size ?? 0) };
  }

  async dispose(): Promise<void> {}

  private reserveName(requested: string | undefined, id: string): string {
    if (requested) {
      const name = canonicalName(requested);
      this.store.reserveName(name, id);
      return name;
    }
    for (let attempt = 0; ; attempt++) {
      const name = `/${generateName(attempt > 5 ? attempt : 0)}`;
      if (!this.store.nameOwner(name)) {
        this.store.reserveName(name, id);
        return name;
      }
    }
  }

  /** Runtimes a container may name: those of the active exec drivers, else the configured ones. */
  private knownRuntimes(): Set<string> {
    const drivers = [...this.deps.host.all<ExecDriver>(ExtensionPoint.ExecDriver).values()];
    if (drivers.length > 0) return new Set(drivers.flatMap((d) => d.runtimes().map((r) => r.name)));
    return new Set(['runc', 'lxc', ...Object.keys(this.deps.daemon().runtimes ?? {})]);
  }

  private async releaseLayers(id: string): Promise<void> {
    const graph = this.deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
    if (graph) {
      await graph.remove(id).catch((err) => this.deps.log.warn('failed to remove container layer', { id, error: err }));
      await graph.remove(`${id}-init`).catch((err) => this.deps.log.warn('failed to remove container init layer', { id, error: err }));
    }
    const images = this.deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
    await images?.releaseLayers(id).catch((err) => this.deps.log.warn('failed to release image layers', { id, error: err }));
  }

  private emit(action: string, rec: ContainerRecord, extra: Record<string, string> = {}): void {
    const attrs: Record<string, string> = { ...(rec.Config.Labels ?? {}), image: rec.ImageName, name: rec.Name.slice(1), ...extra };
    this.deps.events.emit('docker.event', dockerEvent('container', action, rec.Id, attrs));
  }
}
