import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Readable } from 'node:stream';
import {
  ConflictError,
  SystemError,
  errorMessage,
  dockerEvent,
  ExtensionPoint,
  type AttachRequest,
  type AttachStreams,
  type CommitOptions,
  type ConsoleSize,
  type ContainerRecord,
  type ContainerService,
  type ContainerWait,
  type CreateContainerRequest,
  type DaemonConfig,
  type EventBus,
  type ExecCreateConfig,
  type ExecDriver,
  type ExecInspect,
  type GraphDriver,
  type ImageStore,
  type LogEntry,
  type LogLineBatch,
  type Logger,
  type LogsRequest,
  type MountPoint,
  type NetworkService,
  type PathStat,
  type PluginHost,
  type Resources,
  type StopOptions,
  type TaskStats,
  type UpdateConfig,
  type WaitCondition,
} from '../../kernel/index.js';
import { exportRootfs } from './export-rootfs.js';
import { commitContainer } from './commit.js';
import { prepareNamespaceModes } from './shared-namespaces.js';
import { releaseShm } from './ipc-shm.js';
import { psForPids, validatePsArgs } from './ps-output.js';
import { RestartManager } from './restart-policy.js';
import { applyUpdate } from './update-config.js';
import { ContainerArchive } from './archive.js';
import { attachContainer } from './attach.js';
import { ContainerStore } from './container-store.js';
import { ExecManager } from './exec-manager.js';
import { HealthMonitor } from './health-monitor.js';
import { chooseRuntime, validateHostConfig } from './host-config-rules.js';
import { initLayerOf, setupInitLayer } from './init-layer.js';
import { SharedInitLayers } from './shared-init-layers.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { batchEntries } from '../../lib/log-line-batch.js';
import { Lifecycle } from './lifecycle.js';
import { LogBackend } from './log-backend.js';
import { commandOf, mergeImageConfig } from './merge-image-config.js';
import { canonicalName, generateName } from './names.js';
import { restoreContainers } from './restore.js';
import type { ServiceContext } from './service-context.js';
import { removingState } from './state-transitions.js';
import { GO_ZERO_TIME, nowRfc3339Nano } from './time-format.js';
import { Waiters } from './waiters.js';
import { planMountPoints } from './mount-points.js';
import { layerRoot, VolumeMounts } from './volume-mounts.js';

export interface ContainerServiceDeps {
  root: string;
  host: PluginHost;
  events: EventBus;
  log: Logger;
  daemon(): Readonly<DaemonConfig>;
}

/**
 * The container service: configuration and state of every container, and
 * their lifecycle on the exec driver. Creation resolves the image, merges
 * its config, validates HostConfig, and prepares the root filesystem as
 * dockerd does: an init layer on the image's top layer holding the init
 * files (shared by the containers of one image, see shared-init-layers.ts),
 * and the writable `<id>` layer on top of it. Running, attach,
 * logs and exec are delegated to lifecycle.ts, attach.ts and exec-manager.ts.
 */
export class LocalContainerService implements ContainerService {
  private readonly store: ContainerStore;
  private readonly ctx: ServiceContext;
  private readonly lifecycle: Lifecycle;
  private readonly execs: ExecManager;
  private readonly logBackend: LogBackend;
  private readonly volumes: VolumeMounts;
  private readonly archive: ContainerArchive;
  private readonly health: HealthMonitor;
  private readonly initLayers: SharedInitLayers;

  private constructor(private readonly deps: ContainerServiceDeps) {
    this.store = new ContainerStore(deps.root, deps.log);
    this.initLayers = new SharedInitLayers(deps.root, deps.log, () => deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore));
    this.logBackend = new LogBackend(deps.host, deps.daemon);
    this.volumes = new VolumeMounts(deps.host, deps.log);
    this.archive = new ContainerArchive(deps.host);
    this.ctx = {
      host: deps.host,
      volumes: this.volumes,
      log: deps.log,
      daemon: deps.daemon,
      logs: this.logBackend,
      store: this.store,
      waiters: new Waiters(),
      locks: new KeyedMutex(),
      runtimes: new Map(),
      emit: (action, rec, extra) => this.emit(action, rec, extra),
      shuttingDown: false,
      resolveContainer: (ref) => this.store.resolve(ref),
      networkPeer: (ref) => {
        const peer = this.store.resolve(ref);
        if (!peer.State.Running || peer.State.Restarting || !peer.State.Pid) throw new ConflictError(`cannot join network of a non running container: ${ref}`);
        return peer;
      },
    };
    this.lifecycle = new Lifecycle(this.ctx, (id, pending) => this.remove(id, { force: true, removeVolumes: true }, pending).catch(async (err: unknown) => {
      const left = this.store.tryResolve(id);
      if (!left) return;
      deps.log.error('error removing container', { container: id, error: err });
      // Its exit was kept in memory only, for a removal that did not happen: record it now.
      if (!left.State.Running && left.State.Status !== 'removing') await this.store.save(left).catch((e: unknown) => deps.log.warn('failed to save container state', { container: id, error: e }));
    }));
    this.execs = new ExecManager(this.ctx, this.lifecycle);
    this.health = new HealthMonitor(this.ctx, this.execs);
    this.lifecycle.hooks = {
      started: (id) => this.health.init(id),
      stopped: (id) => this.health.stop(id),
      pausedChanged: (id) => this.health.update(id),
    };
  }

  static async open(deps: ContainerServiceDeps): Promise<LocalContainerService> {
    const svc = new LocalContainerService(deps);
    const orphans = await svc.store.load();
    for (const id of orphans) await svc.releaseLayers(id).then(() => svc.store.delete(id));
    if (orphans.length) deps.log.info('removed containers left half-created by a crash', { count: orphans.length });
    // A record saved as "removing" (by an older berthd) is a removal a crash interrupted: finish it.
    for (const c of svc.store.all().filter((r) => r.State.Status === 'removing')) await svc.store.moveToTrash(c.Id);
    const trash = await svc.store.trash();
    for (const t of trash) await svc.reap(t.id, t.path);
    if (trash.length) deps.log.info('finished removals interrupted by a crash', { count: trash.length });
    // Shared init layers: those the records use are kept, the others (a crash before a first or after a last user) go.
    const graph = deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
    if (graph) {
      const used = svc.store.all().filter((c) => c.InitLayer !== undefined && c.Driver === graph.name).map((c) => c.InitLayer!);
      const unused = await svc.initLayers.restore(graph, used);
      if (unused) deps.log.info('removed shared init layers no container uses', { count: unused });
    }
    return svc;
  }

  /** Plugin start: every plugin is active, so tasks can be restored (or stopped) and policies applied. */
  async start(): Promise<void> {
    for (const c of this.store.all()) await this.volumes.reacquire(c);
    await restoreContainers(this.ctx, this.lifecycle, this.deps.daemon()['live-restore'] === true, (id) => this.remove(id, { force: true, removeVolumes: true }));
    for (const c of this.store.all()) if (this.lifecycle.live(c.Id)) await this.health.init(c.Id);
  }

  /**
   * Plugin stop (daemon shutdown): with live-restore the tasks keep running
   * and only our readers stop; without it every running container is
   * stopped as dockerd's Shutdown does, and restarts on the next start if its
   * policy says so.
   */
  async stop(): Promise<void> {
    if (this.ctx.shuttingDown) return;
    this.ctx.shuttingDown = true;
    this.health.stopAll();
    for (const rt of this.ctx.runtimes.values()) {
      if (rt.restartTimer) clearTimeout(rt.restartTimer);
      rt.restartTimer = undefined;
    }
    if (this.deps.daemon()['live-restore'] !== true) {
      const running = this.store.all().filter((c) => c.State.Running && this.lifecycle.live(c.Id));
      await Promise.all(running.map((c) => this.lifecycle.stop(c.Id).catch((err: unknown) => this.deps.log.warn('failed to stop container on shutdown', { container: c.Id, error: err }))));
    }
    // Removed containers whose layers are still being deleted, and init layers kept idle: gone before the driver goes away.
    await Promise.all([...this.reaping, this.initLayers.evict()]);
    for (const [id, rt] of this.ctx.runtimes) {
      const live = rt.live;
      if (!live) continue;
      rt.live = undefined;
      await live.pump.stop();
      await live.logger?.close().catch(() => undefined);
      await live.offset.flush();
      live.lease.release();
      this.deps.log.debug('left container running (live-restore)', { container: id });
    }
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
    hostConfig.LogConfig = this.logBackend.resolve(hostConfig.LogConfig);
    const config = mergeImageConfig({ ...req.config }, image.config.config);
    const { path, args } = commandOf(config);
    const runtime = chooseRuntime(hostConfig.Runtime, this.deps.daemon()['default-runtime'], this.knownRuntimes());
    hostConfig.Runtime = runtime;
    const mountPlan = planMountPoints({ Config: config, HostConfig: hostConfig }, (ref) => this.store.resolve(ref));

    prepareNamespaceModes(hostConfig, req.config.Hostname, this.deps.daemon()['default-ipc-mode'], (ref) => this.store.resolve(ref));
    const id = randomBytes(32).toString('hex');
    const name = this.reserveName(req.name, id);
    // dockerd: a host-network container takes the host's name; others their short ID.
    if (!config.Hostname) config.Hostname = hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12);
    let mountPoints: MountPoint[] = [];
    let prepared = false;
    let initLayer: string | undefined;
    try {
      // First the directory: a crash from here on leaves an orphan that the next start cleans up.
      await this.store.prepare(id);
      prepared = true;
      const top = await images.topLayer(image.id);
      // As dockerd's layer store: both the init layer and the container layer get the --storage-opt.
      // A --rm container's layers are thrown away after any crash: the driver may skip syncing them.
      const layerOpts = { storageOpt: hostConfig.StorageOpt ?? undefined, volatile: hostConfig.AutoRemove === true };
      if (top !== null && Object.keys(hostConfig.StorageOpt ?? {}).length === 0) {
        // The image's shared init layer (made by the first container of the image; complete when
        // acquired). It holds the image's layers for its containers: no hold of our own to write.
        initLayer = await this.initLayers.acquire(graph, top, image.id);
        await graph.createReadWrite(id, initLayer, layerOpts);
      } else {
        // Held like dockerd's layerdb/mounts/<id>: the image's layers outlive `rmi -f` while the container exists.
        // The hold (a durable write) and the layers are made side by side.
        const held = images.holdLayers(id, image.id);
        held.catch(() => undefined);
        await graph.createReadWrite(`${id}-init`, top, layerOpts).catch(async (err: unknown) => { await held.catch(() => undefined); throw err; });
        // The container layer needs only the init layer's metadata, not its placeholders.
        const made = [setupInitLayer(graph, `${id}-init`), graph.createReadWrite(id, `${id}-init`, layerOpts), held];
        for (const r of await Promise.allSettled(made)) if (r.status === 'rejected') throw r.reason;
      }
      mountPoints = await this.volumes.create(id, mountPlan, layerRoot(graph, id));
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
        ResolvConfPath: '',
        HostnamePath: '',
        HostsPath: '',
        LogPath: '',
        MountPoints: Object.fromEntries(mountPoints.map((m) => [m.Destination, m])),
      };
      if (initLayer !== undefined) rec.InitLayer = initLayer;
      rec.LogPath = this.logBackend.logPath(rec, this.store.dir(id));
      await this.store.save(rec);
      this.emit('create', rec);
      return { id, warnings: [] };
    } catch (err) {
      this.store.releaseName(name, id);
      await this.volumes.release(id, mountPoints, true);
      await this.releaseLayers(id, initLayer);
      if (prepared) await this.store.delete(id);
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

  /**
   * dockerd's ContainerRm: 409 for a running container without force; with
   * force it is killed first. `pending` (an auto-removal right after the
   * exit): the exit's remaining work, waited for before the removal reports.
   */
  async remove(ref: string, opts: { force: boolean; removeVolumes: boolean }, pending?: Promise<void>): Promise<void> {
    const rec = this.store.resolve(ref);
    if (rec.State.Status === 'removing') throw new ConflictError(`removal of container ${rec.Id} is already in progress`);
    if (rec.State.Running && !opts.force) {
      const what = rec.State.Paused ? 'paused' : rec.State.Restarting ? 'restarting' : 'running';
      throw new ConflictError(`You cannot remove a ${what} container ${rec.Id}. Stop the container before attempting removal or force remove`);
    }
    if (rec.State.Running) await this.lifecycle.forceStop(rec.Id);
    const last = await this.ctx.locks.run(rec.Id, async () => {
      const cur = this.store.resolve(rec.Id);
      if (cur.State.Status === 'removing') throw new ConflictError(`removal of container ${rec.Id} is already in progress`);
      // In memory only (starts, updates and a second rm see it); on disk the trash rename below commits the removal.
      this.store.setInMemory({ ...cur, State: removingState(cur.State) });
      try {
        await releaseShm(this.store.dir(rec.Id));
        // The commit point: one rename, no rewrite of the record. A crash after it is finished at the next start.
        const trashed = await this.store.moveToTrash(rec.Id);
        const rt = this.ctx.runtimes.get(rec.Id);
        for (const sub of rt?.pendingOutput ?? []) sub.end();
        this.ctx.runtimes.delete(rec.Id);
        this.health.stop(rec.Id);
        this.execs.forget(rec.Id);
        await this.volumes.release(rec.Id, Object.values(cur.MountPoints ?? {}), opts.removeVolumes);
        // Its networks and its layers, side by side (neither needs the other). The layers go before
        // the reply (an `rmi` right after deletes and lists the image's layers; the driver's devices
        // or directories are gone when `docker rm` returns, as with dockerd) …
        await Promise.all([
          this.deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.forget(rec.Id).catch((err: unknown) => this.deps.log.warn('failed to release container networks', { container: rec.Id, error: err })),
          this.releaseLayers(rec.Id, cur.InitLayer),
        ]);
        // … the old directory (record, /etc files, log) after it: only the next start would look at it.
        if (trashed) this.background(this.store.purge(trashed).catch((err: unknown) => this.deps.log.warn('failed to delete a removed container directory', { container: rec.Id, error: err })));
        return cur;
      } catch (err) {
        // Not committed: the container stays as it was.
        if (this.store.tryResolve(rec.Id)) this.store.setInMemory(cur);
        throw err;
      }
    });
    await pending;
    this.emit('destroy', last);
    this.ctx.waiters.removed(rec.Id, { exitCode: last.State.ExitCode, error: last.State.Error || undefined });
  }

  /** Directories of removed containers still being deleted (awaited at shutdown). */
  private readonly reaping = new Set<Promise<void>>();

  private background(p: Promise<void>): void {
    this.reaping.add(p);
    void p.finally(() => this.reaping.delete(p));
  }

  /**
   * Finishes a removal a crash interrupted after its trash rename: the
   * container's read-write and init layers, the image's hold, then its old
   * directory in the trash (last: while it is there, the next start retries).
   * Never throws.
   */
  private async reap(id: string, trashed: string | null): Promise<void> {
    await this.releaseLayers(id);
    if (trashed) await this.store.purge(trashed).catch((err: unknown) => this.deps.log.warn('failed to delete a removed container directory', { container: id, error: err }));
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
    const rw = await graph.diffSize(rec.Id, initLayerOf(rec));
    const image = await this.deps.host.current<ImageStore>(ExtensionPoint.ImageStore).get(rec.Image).catch(() => undefined);
    return { rw, rootFs: rw + (image?.size ?? 0) };
  }

  startContainer(ref: string): Promise<void> {
    return this.lifecycle.start(ref);
  }

  stopContainer(ref: string, opts?: StopOptions): Promise<void> {
    return this.lifecycle.stop(ref, opts);
  }

  restart(ref: string, opts?: StopOptions): Promise<void> {
    return this.lifecycle.restart(ref, opts);
  }

  kill(ref: string, signal?: string): Promise<void> {
    return this.lifecycle.kill(ref, signal);
  }

  pause(ref: string): Promise<void> {
    return this.lifecycle.pause(ref);
  }

  unpause(ref: string): Promise<void> {
    return this.lifecycle.unpause(ref);
  }

  wait(ref: string, condition: WaitCondition): Promise<ContainerWait> {
    return this.lifecycle.wait(ref, condition);
  }

  resize(ref: string, size: ConsoleSize): Promise<void> {
    return this.lifecycle.resize(ref, size);
  }

  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    validatePsArgs(psArgs);
    const c = this.store.resolve(ref);
    const live = this.lifecycle.live(c.Id);
    if (!c.State.Running || !live) throw new ConflictError(`Container ${c.Id} is not running`);
    if (c.State.Restarting) throw new ConflictError(`Container ${c.Id} is restarting, wait until the container is running`);
    const result = await psForPids(psArgs, await live.task.pids());
    this.emit('top', c);
    return result;
  }

  async stats(ref: string): Promise<TaskStats | undefined> {
    const c = this.store.resolve(ref);
    const live = this.lifecycle.live(c.Id);
    if (!c.State.Running || !live) return undefined;
    return live.task.stats().catch(() => undefined);
  }

  async update(ref: string, changes: UpdateConfig): Promise<{ Warnings: string[] }> {
    const id = this.store.resolve(ref).Id;
    await this.ctx.locks.run(id, async () => {
      const c = this.store.resolve(id);
      if (c.State.Status === 'removing' || c.State.Dead) throw new ConflictError(`Cannot update container ${id}: container is marked for removal and cannot be "update"`);
      let hostConfig;
      try {
        hostConfig = applyUpdate(c.HostConfig, changes);
      } catch (err) {
        if (err instanceof ConflictError) throw new ConflictError(`Cannot update container ${id}: ${err.message}`);
        throw err;
      }
      const live = this.lifecycle.live(id);
      // A stopped container takes the new resources at its next start; a running one now.
      if (live && c.State.Running && !c.State.Restarting) {
        await live.task.update(hostConfig as Resources).catch((err: unknown) => {
          throw new SystemError(`Cannot update container ${id}: ${errorMessage(err)}`, { cause: err });
        });
      }
      const next = { ...c, HostConfig: hostConfig };
      await this.store.save(next);
      const rt = this.ctx.runtimes.get(id);
      if (rt && changes.RestartPolicy?.Name) rt.restart = new RestartManager(hostConfig.RestartPolicy, c.RestartCount);
      this.emit('update', next);
    });
    return { Warnings: [] };
  }

  async exportRootfs(ref: string): Promise<Readable> {
    const c = this.store.resolve(ref);
    const stream = await exportRootfs(this.deps.host.current<GraphDriver>(ExtensionPoint.GraphDriver), c.Id);
    this.emit('export', c);
    return stream;
  }

  async statPath(ref: string, path: string): Promise<PathStat> {
    return this.archive.stat(this.store.resolve(ref), path, ref);
  }

  async archivePath(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    const c = this.store.resolve(ref);
    const out = await this.archive.archive(c, path, ref);
    this.emit('archive-path', c);
    return out;
  }

  async extractToDir(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    const c = this.store.resolve(ref);
    await this.archive.extract(c, path, ref, tar, opts);
    this.emit('extract-to-dir', c);
  }

  commit(ref: string, opts: CommitOptions): Promise<string> {
    return commitContainer(this.ctx, this.lifecycle, ref, opts);
  }

  attach(ref: string, req: AttachRequest, connect: (info: { tty: boolean }) => AttachStreams): Promise<void> {
    return attachContainer(this.ctx, ref, req, connect, async (c) => (await this.readLogs(c, { follow: false })).entries);
  }

  logs(ref: string, opts: LogsRequest): Promise<{ tty: boolean; entries: AsyncIterable<LogEntry>; batches?: AsyncIterable<LogLineBatch> }> {
    return this.readLogs(this.store.resolve(ref), opts);
  }

  /** A running container's open log (so a follow ends when it stops), else what is stored; in batches when the driver reads so. */
  private async readLogs(c: ContainerRecord, opts: LogsRequest): Promise<{ tty: boolean; entries: AsyncIterable<LogEntry>; batches?: AsyncIterable<LogLineBatch> }> {
    const logger = this.lifecycle.live(c.Id)?.logger;
    const reader = logger ?? this.logBackend.reader(c, this.store.dir(c.Id));
    const read = { since: opts.since, until: opts.until, tail: opts.tail, follow: opts.follow && logger !== undefined, signal: opts.signal };
    const tty = c.Config.Tty === true;
    if (!reader.readBatches) return { tty, entries: reader.read(read) };
    // One read, taken now (a follow's start is fixed when it is asked for); the entries are the same batches, copied out.
    const batches = reader.readBatches(read);
    return { tty, entries: batchEntries(batches), batches };
  }

  async createExec(ref: string, config: ExecCreateConfig): Promise<string> {
    return this.execs.create(ref, config);
  }

  startExec(execId: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null }, connect: (info: { tty: boolean }) => AttachStreams): Promise<void> {
    return this.execs.start(execId, opts, connect);
  }

  async inspectExec(execId: string): Promise<ExecInspect> {
    return this.execs.inspect(execId);
  }

  resizeExec(execId: string, size: ConsoleSize): Promise<void> {
    return this.execs.resize(execId, size);
  }

  execIds(ref: string): string[] {
    return this.execs.runningIds(this.store.resolve(ref).Id);
  }

  evictImageCaches(topLayer: string): Promise<void> {
    return this.initLayers.evict(topLayer);
  }

  async dispose(): Promise<void> {
    await this.stop();
  }

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

  /**
   * The container's read-write and init layers (its own init layer, or one
   * reference on the image's shared one: `sharedInit`, when it took one) and
   * its hold on the image's layers, given back side by side: none needs
   * another gone first (the container layer's directory or device names its
   * parents but nothing reads them once it is unmounted; a device-mapper
   * driver serialises its own work), and each deletion is a string of
   * file-system round trips on the path `docker rm` and `docker run --rm`
   * wait on.
   */
  private async releaseLayers(id: string, sharedInit?: string): Promise<void> {
    const graph = this.deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
    const images = this.deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
    await Promise.all([
      graph?.remove(id).catch((err) => this.deps.log.warn('failed to remove container layer', { id, error: err })),
      sharedInit !== undefined
        ? this.initLayers.release(sharedInit)
        : graph?.remove(`${id}-init`).catch((err) => this.deps.log.warn('failed to remove container init layer', { id, error: err })),
      // A container on a shared init layer never had a hold of its own (the init layer holds the
      // image's layers): nothing to look up and delete in the layer store.
      sharedInit === undefined ? images?.releaseLayers(id).catch((err) => this.deps.log.warn('failed to release image layers', { id, error: err })) : undefined,
    ]);
  }

  private emit(action: string, rec: ContainerRecord, extra: Record<string, string> = {}): void {
    const attrs: Record<string, string> = { ...(rec.Config.Labels ?? {}), image: rec.ImageName, name: rec.Name.slice(1), ...extra };
    this.deps.events.emit('docker.event', dockerEvent('container', action, rec.Id, attrs));
  }
}
