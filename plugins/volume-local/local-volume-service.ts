import { chmod, mkdir, realpath, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import {
  ANONYMOUS_VOLUME_LABEL,
  ConflictError,
  InvalidParameterError,
  NotFoundError,
  SystemError,
  dockerEvent,
  errorMessage,
  type CreateVolumeRequest,
  type EventBus,
  type Logger,
  type Volume,
  type VolumeFilterArgs,
  type VolumePruneReport,
  type VolumeService,
} from '../../kernel/index.js';
import { rfc3339Local } from './created-at.js';
import { directorySize } from './dir-size.js';
import { KeyedLock } from './keyed-lock.js';
import { mountOptionsOf, needsMount, validateLocalOptions, type MountOptions } from './local-options.js';
import { isMountPoint, mountVolume, unmountVolume } from './local-mount.js';
import { listPredicate, prunePredicate, type FilterSubject } from './volume-filters.js';
import { DATA_DIR, loadVolumes, writeMountOptions, writeVolumeMetadata, type VolumeMetadata } from './volume-metadata.js';
import { anonymousVolumeName, validateVolumeName } from './volume-names.js';

const DRIVER = 'local';

/** One volume in memory: its persisted metadata plus what lives only while the daemon runs. */
interface LocalVolume {
  meta: VolumeMetadata;
  dir: string;
  dataPath: string;
  mountOpts?: MountOptions;
  /** Containers using it (dockerd's store refs); a volume with refs cannot be removed. */
  refs: Set<string>;
  /** Active mounts by mount ref, for volumes that need mounting (dockerd's activeMount.count). */
  mounts: Map<string, number>;
  mounted: boolean;
}

export interface LocalVolumeServiceOptions {
  /** `<data-root>/volumes`. */
  root: string;
  events: EventBus;
  log: Logger;
}

/**
 * dockerd's volume service and store with its built-in `local` driver in one:
 * volumes are directories under `<data-root>/volumes`, their metadata is
 * persisted per volume and restored at start, references and mounts are
 * counted in memory, and every change is a Docker `volume` event.
 */
export class LocalVolumeService implements VolumeService {
  private readonly volumes = new Map<string, LocalVolume>();
  private readonly locks = new KeyedLock();
  private pruning = false;

  private constructor(
    private readonly root: string,
    private readonly realRoot: string,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  static async open(o: LocalVolumeServiceOptions): Promise<LocalVolumeService> {
    await mkdir(o.root, { recursive: true });
    await chmod(o.root, 0o701);
    const svc = new LocalVolumeService(o.root, await realpath(o.root), o.events, o.log);
    for (const meta of await loadVolumes(o.root, o.log)) {
      const v = svc.track(meta);
      // restoreIfMounted: still mounted after a restart, but no container counts yet.
      if (needsMount(v.mountOpts) && (await isMountPoint(v.dataPath))) v.mounted = true;
    }
    return svc;
  }

  drivers(): string[] {
    return [DRIVER];
  }

  async create(req: CreateVolumeRequest): Promise<Volume> {
    const anonymous = !req.name;
    const name = req.name || anonymousVolumeName();
    const labels = anonymous ? { ...(req.labels ?? {}), [ANONYMOUS_VOLUME_LABEL]: '' } : (req.labels ?? null);
    const driver = req.driver || DRIVER;
    return this.locks.run(name, async () => {
      if (driver !== DRIVER) throw new NotFoundError(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      let v = this.volumes.get(name);
      if (!v) {
        v = await this.createOnDisk(name, req.driverOpts ?? null, labels);
        this.events.emit('docker.event', dockerEvent('volume', 'create', name, { driver: DRIVER }));
      }
      if (req.ref) v.refs.add(req.ref);
      return this.view(v);
    });
  }

  async get(name: string): Promise<Volume> {
    return this.view(this.mustGet(name));
  }

  async list(filters: VolumeFilterArgs = {}): Promise<{ volumes: Volume[]; warnings: string[] }> {
    const match = listPredicate(filters);
    return { volumes: this.sorted().filter((v) => match(this.subject(v))).map((v) => this.view(v)), warnings: [] };
  }

  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (!this.volumes.has(name) && opts.force) return;
    await this.locks.run(name, async () => {
      const v = this.mustGet(name);
      if (v.refs.size > 0) throw new ConflictError(`remove ${name}: volume is in use - [${[...v.refs].join(', ')}]`);
      if (activeMounts(v) > 0) throw new SystemError(`remove ${name}: volume has active mounts`);
      if (needsMount(v.mountOpts)) await unmountVolume(v.dataPath);
      await this.deleteFromDisk(v);
      this.volumes.delete(name);
      this.events.emit('docker.event', dockerEvent('volume', 'destroy', name, { driver: DRIVER }));
    });
  }

  async prune(filters: VolumeFilterArgs = {}): Promise<VolumePruneReport> {
    if (this.pruning) throw new ConflictError('a prune operation is already running');
    this.pruning = true;
    try {
      const match = prunePredicate(filters);
      const candidates = this.sorted().filter((v) => v.refs.size === 0 && !hasOptions(v) && match(this.subject(v)));
      const report: VolumePruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
      for (const v of candidates) {
        const size = await directorySize(v.dataPath).catch((err) => {
          this.log.warn('could not determine size of volume', { volume: v.meta.Name, error: err });
          return 0;
        });
        try {
          await this.remove(v.meta.Name);
        } catch (err) {
          this.log.warn('could not remove volume', { volume: v.meta.Name, error: errorMessage(err) });
          continue;
        }
        report.VolumesDeleted.push(v.meta.Name);
        report.SpaceReclaimed += size;
      }
      this.events.emit('docker.event', dockerEvent('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) }));
      return report;
    } finally {
      this.pruning = false;
    }
  }

  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const v of this.sorted().filter((v) => !hasOptions(v))) {
      const size = await directorySize(v.dataPath).catch(() => -1);
      out.push({ ...this.view(v), UsageData: { Size: size, RefCount: v.refs.size } });
    }
    return out;
  }

  async acquire(name: string, ref: string): Promise<void> {
    await this.locks.run(name, async () => { this.mustGet(name).refs.add(ref); });
  }

  async release(name: string, ref: string): Promise<void> {
    await this.locks.run(name, async () => { this.volumes.get(name)?.refs.delete(ref); });
  }

  references(name: string): string[] {
    return [...(this.volumes.get(name)?.refs ?? [])];
  }

  async mount(name: string, ref: string, eventAttributes: Record<string, string> = {}): Promise<string> {
    return this.locks.run(name, async () => {
      const v = this.mustGet(name);
      if (needsMount(v.mountOpts)) {
        if (!v.mounted) {
          await mountVolume(v.mountOpts, v.dataPath);
          v.mounted = true;
        }
        v.mounts.set(ref, (v.mounts.get(ref) ?? 0) + 1);
      }
      this.events.emit('docker.event', dockerEvent('volume', 'mount', name, { driver: DRIVER, container: ref, ...eventAttributes }));
      return v.dataPath;
    });
  }

  async unmount(name: string, ref: string, eventAttributes: Record<string, string> = {}): Promise<void> {
    await this.locks.run(name, async () => {
      const v = this.mustGet(name);
      if (needsMount(v.mountOpts)) {
        const n = v.mounts.get(ref) ?? 0;
        if (n === 0) {
          this.log.warn('unmount of a volume mount that is not active', { volume: name, ref });
          return;
        }
        if (n === 1) v.mounts.delete(ref);
        else v.mounts.set(ref, n - 1);
        if (activeMounts(v) === 0 && v.mounted) {
          await unmountVolume(v.dataPath);
          v.mounted = false;
        }
      }
      this.events.emit('docker.event', dockerEvent('volume', 'unmount', name, { driver: DRIVER, container: ref, ...eventAttributes }));
    });
  }

  // --- internals ---------------------------------------------------------------

  /** Root.Create: validate, make `<name>/_data`, persist options and metadata; undo on failure. */
  private async createOnDisk(name: string, opts: Record<string, string> | null, labels: Record<string, string> | null): Promise<LocalVolume> {
    try {
      validateVolumeName(name);
      validateLocalOptions(opts);
    } catch (err) {
      throw new InvalidParameterError(`create ${name}: ${errorMessage(err)}`);
    }
    const meta: VolumeMetadata = { Name: name, Driver: DRIVER, Labels: labels, Options: opts, CreatedAt: new Date().toISOString() };
    const dir = join(this.root, name);
    try {
      await mkdir(dir, { recursive: true, mode: 0o701 });
      await mkdir(join(dir, DATA_DIR), { recursive: true, mode: 0o755 });
      await chmod(join(dir, DATA_DIR), 0o755);
      const mountOpts = mountOptionsOf(opts);
      if (mountOpts) await writeMountOptions(dir, mountOpts);
      await writeVolumeMetadata(dir, meta);
    } catch (err) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw new SystemError(`create ${name}: error while creating volume path '${dir}': ${errorMessage(err)}`, { cause: err });
    }
    return this.track(meta);
  }

  /** Root.Remove: never delete outside the volumes root, even through a symlinked `_data`. */
  private async deleteFromDisk(v: LocalVolume): Promise<void> {
    const real = await realpath(v.dataPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return join(this.realRoot, v.meta.Name);
      throw err;
    });
    if (real === this.realRoot || !real.startsWith(this.realRoot + sep)) {
      throw new SystemError(`unable to remove a directory outside of the local volume root ${this.root}: ${real}`);
    }
    try {
      await rm(real, { recursive: true, force: true });
      await rm(v.dir, { recursive: true, force: true });
    } catch (err) {
      throw new SystemError(`remove ${v.meta.Name}: error removing volume path '${real}': ${errorMessage(err)}`, { cause: err });
    }
  }

  private track(meta: VolumeMetadata): LocalVolume {
    const dir = join(this.root, meta.Name);
    const v: LocalVolume = {
      meta,
      dir,
      dataPath: join(dir, DATA_DIR),
      mountOpts: mountOptionsOf(meta.Options),
      refs: new Set(),
      mounts: new Map(),
      mounted: false,
    };
    this.volumes.set(meta.Name, v);
    return v;
  }

  private mustGet(name: string): LocalVolume {
    const v = this.volumes.get(name);
    if (!v) throw new NotFoundError(`get ${name}: no such volume`);
    return v;
  }

  private sorted(): LocalVolume[] {
    return [...this.volumes.values()].sort((a, b) => (a.meta.Name < b.meta.Name ? -1 : a.meta.Name > b.meta.Name ? 1 : 0));
  }

  private subject(v: LocalVolume): FilterSubject {
    return { name: v.meta.Name, driver: v.meta.Driver, labels: v.meta.Labels, referenced: v.refs.size > 0 };
  }

  /** The API shape; maps are copied so callers cannot change the store. */
  private view(v: LocalVolume): Volume {
    return {
      CreatedAt: rfc3339Local(new Date(v.meta.CreatedAt)),
      Driver: v.meta.Driver,
      Labels: v.meta.Labels ? { ...v.meta.Labels } : null,
      Mountpoint: v.dataPath,
      Name: v.meta.Name,
      Options: v.meta.Options ? { ...v.meta.Options } : null,
      Scope: 'local',
    };
  }
}

function activeMounts(v: LocalVolume): number {
  let n = 0;
  for (const c of v.mounts.values()) n += c;
  return n;
}

/** Volumes with driver options are not really local (a tmpfs, an nfs share): df and prune skip them. */
function hasOptions(v: LocalVolume): boolean {
  return !!v.meta.Options && Object.keys(v.meta.Options).length > 0;
}
