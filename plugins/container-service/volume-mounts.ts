import { execFile } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import {
  ExtensionPoint,
  InvalidParameterError,
  type ContainerRecord,
  type GraphDriver,
  type Logger,
  type MountPoint,
  type PluginHost,
  type RunMount,
  type VolumeService,
} from '../../kernel/index.js';
import { resolveInRootfs } from './rootfs-resolve.js';

/**
 * A container's volumes over their life, as dockerd handles them:
 * - create: named volumes are created if missing (and referenced), image
 *   VOLUMEs and `--mount type=volume` without a source get anonymous ones;
 *   a new, empty volume receives the image's content at its destination;
 * - start: every volume is mounted (`volume mount` events) and bound in;
 *   `-v` bind sources that do not exist are created;
 * - stop: the volumes are unmounted; remove: references dropped, anonymous
 *   volumes removed with `rm -v` (and `--rm`);
 * - daemon start: references taken again (they live in memory, as dockerd's).
 */
export class VolumeMounts {
  constructor(private readonly host: PluginHost, private readonly log: Logger) {}

  private service(required: boolean): VolumeService | undefined {
    const v = this.host.tryCurrent<VolumeService>(ExtensionPoint.VolumeService);
    if (!v && required) throw new InvalidParameterError('volumes are not available: no volume service is active');
    return v;
  }

  /** Creates and references the volumes of a new container; returns the mount points with names and sources filled in. */
  async create(id: string, points: MountPoint[], imageRoot: () => Promise<{ path: string; release(): Promise<void> }>): Promise<MountPoint[]> {
    const out: MountPoint[] = [];
    const created: string[] = [];
    try {
      for (const p of points) {
        if (p.Type !== 'volume') {
          out.push(p);
          continue;
        }
        const volumes = this.service(true)!;
        const fresh = p.Name ? !(await volumes.get(p.Name).then(() => true, () => false)) : true;
        const v = await volumes.create({ name: p.Name || undefined, driver: p.Driver, driverOpts: p.DriverOpts, labels: p.Labels, ref: id });
        if (fresh) created.push(v.Name);
        out.push({ ...p, Name: v.Name, Source: v.Mountpoint, Driver: v.Driver, CopyData: p.CopyData && fresh });
      }
      const copies = out.filter((p) => p.Type === 'volume' && p.CopyData);
      if (copies.length) await this.copyImageContent(id, copies, imageRoot);
      return out;
    } catch (err) {
      await this.release(id, out, false);
      for (const name of created) await this.service(false)?.remove(name).catch(() => undefined);
      throw err;
    }
  }

  /** dockerd's copyImagePathContent: only into an empty volume, only from a directory of the image. */
  private async copyImageContent(id: string, points: MountPoint[], imageRoot: () => Promise<{ path: string; release(): Promise<void> }>): Promise<void> {
    const root = await imageRoot();
    try {
      const volumes = this.service(true)!;
      for (const p of points) {
        const src = await resolveInRootfs(root.path, p.Destination);
        if (!(await stat(src).then((s) => s.isDirectory(), () => false))) continue;
        const dst = await volumes.mount(p.Name!, id);
        try {
          if ((await readdir(dst)).length > 0) continue;
          await run('cp', ['-a', '--', `${src}/.`, dst]);
        } finally {
          await volumes.unmount(p.Name!, id);
        }
      }
    } finally {
      await root.release();
    }
  }

  /** Mounts everything for a start: the run mounts for the exec driver. Undone by `unmount`. */
  async mount(c: ContainerRecord): Promise<RunMount[]> {
    const out: RunMount[] = [];
    const mounted: MountPoint[] = [];
    try {
      for (const p of Object.values(c.MountPoints ?? {})) {
        if (p.Type === 'tmpfs') {
          out.push({ Source: 'tmpfs', Destination: p.Destination, Type: 'tmpfs', ReadOnly: !p.RW, Options: p.TmpfsOptions ?? [] });
          continue;
        }
        let source = p.Source;
        if (p.Type === 'volume') {
          source = await this.service(true)!.mount(p.Name!, c.Id, { destination: p.Destination, 'read/write': String(p.RW), propagation: p.Propagation });
          mounted.push(p);
        } else if (p.CreateSource && !(await stat(source).then(() => true, () => false))) {
          await mkdir(source, { recursive: true, mode: 0o755 });
        }
        out.push({ Source: source, Destination: p.Destination, Type: 'bind', ReadOnly: !p.RW, Propagation: p.Propagation || 'rprivate' });
      }
      return out;
    } catch (err) {
      await this.unmount({ ...c, MountPoints: Object.fromEntries(mounted.map((m) => [m.Destination, m])) });
      throw err;
    }
  }

  async unmount(c: ContainerRecord): Promise<void> {
    const volumes = this.service(false);
    for (const p of Object.values(c.MountPoints ?? {})) {
      if (p.Type !== 'volume' || !volumes) continue;
      await volumes.unmount(p.Name!, c.Id, { destination: p.Destination }).catch((err: unknown) => this.log.warn('failed to unmount volume', { container: c.Id, volume: p.Name, error: err }));
    }
  }

  /** References again after a daemon restart. */
  async reacquire(c: ContainerRecord): Promise<void> {
    const volumes = this.service(false);
    for (const p of Object.values(c.MountPoints ?? {})) {
      if (p.Type !== 'volume' || !volumes) continue;
      await volumes.acquire(p.Name!, c.Id).catch((err: unknown) => this.log.warn('volume of a container is gone', { container: c.Id, volume: p.Name, error: err }));
    }
  }

  /** Drops the container's references; with `removeAnonymous`, its anonymous volumes go too. */
  async release(id: string, points: MountPoint[], removeAnonymous: boolean): Promise<void> {
    const volumes = this.service(false);
    if (!volumes) return;
    for (const p of points) {
      if (p.Type !== 'volume' || !p.Name) continue;
      await volumes.release(p.Name, id);
      if (removeAnonymous && p.Anonymous && volumes.references(p.Name).length === 0) {
        await volumes.remove(p.Name).catch((err: unknown) => this.log.warn('failed to remove anonymous volume', { container: id, volume: p.Name, error: err }));
      }
    }
  }
}

/** The rootfs of a container being created, mounted for the copy of image content into its volumes. */
export function layerRoot(graph: GraphDriver, layer: string): () => Promise<{ path: string; release(): Promise<void> }> {
  return async () => ({ path: await graph.get(layer), release: () => graph.put(layer) });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, _out, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve()));
  });
}
