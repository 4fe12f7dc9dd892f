import { lstatSync } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-fs';
import {
  ExtensionPoint,
  ForbiddenError,
  InvalidParameterError,
  NotFoundError,
  type ContainerRecord,
  type GraphDriver,
  type MountPoint,
  type PathStat,
  type PluginHost,
} from '../../kernel/index.js';
import { resolveInRootfs } from './rootfs-resolve.js';
import { MountView } from './mount-view.js';

/**
 * `docker cp` (the archive endpoints) on the container's root filesystem
 * and its mounts, as dockerd's daemon/archive.go: a path is resolved the
 * way the container sees it (symlinks followed inside the rootfs, never out
 * of it; a path under a volume or bind goes to its host source, and mounts
 * below the path — volumes, binds, the generated /etc files — are seen
 * through mount-view.ts); the last
 * component is not followed unless the path ends in `/` or `/.`. Extraction
 * never writes through a symlink (tar-fs checks every parent directory), so
 * a hostile container cannot make it write outside its filesystem.
 */
export class ContainerArchive {
  constructor(private readonly host: PluginHost) {}

  async stat(c: ContainerRecord, path: string, ref: string): Promise<PathStat> {
    return this.withRoot(c, async (root) => {
      const target = await this.locate(c, root, path);
      const st = await lstat(new MountView(root, c).hostPath(target.host)).catch(() => undefined);
      if (!st) throw new NotFoundError(`Could not find the file ${path} in container ${ref}`);
      return pathStat(st, target.name, st.isSymbolicLink() ? await this.linkTarget(c, root, path) : '');
    });
  }

  /** The tar of a path (its entry named after the path's last component) and its stat; the rootfs stays mounted until the stream ends. */
  async archive(c: ContainerRecord, path: string, ref: string): Promise<{ stat: PathStat; tar: Readable }> {
    const graph = this.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    const root = await graph.get(c.Id);
    let handedOver = false;
    try {
      const target = await this.locate(c, root, path);
      const view = new MountView(root, c);
      const st = await lstat(view.hostPath(target.host)).catch(() => undefined);
      if (!st) throw new NotFoundError(`Could not find the file ${path} in container ${ref}`);
      const info = pathStat(st, target.name, st.isSymbolicLink() ? await this.linkTarget(c, root, path) : '');
      // The walk goes through the mount view: volumes, binds and /etc files below the path are included.
      const pack = tar.pack(dirname(target.host), { fs: view.fs(), entries: [basename(target.host)], dereference: false, map: (h) => ({ ...h, name: renameTop(h.name, basename(target.host), target.name) }) } as tar.PackOptions) as unknown as Readable;
      // tar-fs streams are streamx streams: hand out a Node stream.
      const stream = new PassThrough();
      pack.on('error', (err) => stream.destroy(err));
      stream.on('close', () => pack.destroy());
      pack.pipe(stream);
      let released = false;
      const release = () => {
        if (!released) void graph.put(c.Id).catch(() => undefined);
        released = true;
      };
      stream.once('end', release);
      stream.once('close', release);
      stream.once('error', release);
      handedOver = true;
      return { stat: info, tar: stream };
    } finally {
      if (!handedOver) await graph.put(c.Id).catch(() => undefined);
    }
  }

  /** Extracts a tar into an existing directory of the container. */
  async extract(c: ContainerRecord, path: string, ref: string, input: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void> {
    await this.withRoot(c, async (root) => {
      const target = await this.locate(c, root, path.endsWith('/') ? path : `${path}/`);
      const view = new MountView(root, c);
      const st = await stat(view.hostPath(target.host)).catch(() => undefined);
      if (!st) throw new NotFoundError(`Could not find the file ${path} in container ${ref}`);
      if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
      if (c.HostConfig.ReadonlyRootfs && !target.mount?.RW) throw new ForbiddenError('container rootfs is marked read-only');
      if (target.mount && !target.mount.RW) throw new ForbiddenError(`mounted volume is marked read-only`);
      let refused: Error | undefined;
      const extract = tar.extract(target.host, {
        fs: view.fs(),
        validateSymlinks: false,
        map: (h) => (opts.copyUIDGID ? h : { ...h, uid: 0, gid: 0 }),
        ignore: (name, header) => {
          if (!opts.noOverwriteDirNonDir || !header) return false;
          const existing = lstatSync(view.hostPath(name), { throwIfNoEntry: false });
          if (!existing || existing.isDirectory() === (header.type === 'directory')) return false;
          refused ??= new InvalidParameterError(existing.isDirectory()
            ? `cannot overwrite directory "${posix.join(path, posix.relative(target.host, name))}" with non-directory`
            : `cannot overwrite non-directory "${posix.join(path, posix.relative(target.host, name))}" with directory`);
          return true;
        },
      } as tar.ExtractOptions);
      await pipeline(input, extract).catch((err: Error) => {
        // dockerd untars in a helper process, hence its "(exit status 1)".
        throw refused ?? new InvalidParameterError(`Error processing tar file(exit status 1): ${err.message}`);
      });
      if (refused) throw refused;
    });
  }

  private async withRoot<T>(c: ContainerRecord, fn: (root: string) => Promise<T>): Promise<T> {
    const graph = this.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    const root = await graph.get(c.Id);
    try {
      return await fn(root);
    } finally {
      await graph.put(c.Id).catch(() => undefined);
    }
  }

  /** Host path of a container path: under a mount point its source, else the rootfs; the last component kept unless the path ends in / or /. */
  private async locate(c: ContainerRecord, root: string, path: string): Promise<{ host: string; name: string; mount?: MountPoint }> {
    if (!path.startsWith('/')) path = `/${path}`;
    const follow = path.endsWith('/') || path.endsWith('/.');
    const clean = posix.normalize(path);
    const mount = Object.values(c.MountPoints ?? {})
      .filter((m) => m.Type !== 'tmpfs' && (clean === m.Destination || clean.startsWith(`${m.Destination}/`)))
      .sort((a, b) => b.Destination.length - a.Destination.length)[0];
    const base = mount ? mount.Source : root;
    const rel = mount ? clean.slice(mount.Destination.length) || '/' : clean;
    const name = posix.basename(clean) || '/';
    if (follow || rel === '/') return { host: await resolveInRootfs(base, rel), name, mount };
    return { host: join(await resolveInRootfs(base, posix.dirname(rel)), posix.basename(rel)), name, mount };
  }

  /** dockerd's linkTarget: where the symlink leads, as a path in the container. */
  private async linkTarget(c: ContainerRecord, root: string, path: string): Promise<string> {
    const host = await resolveInRootfs(root, path);
    return `/${posix.relative(root, host)}`;
  }
}

function renameTop(entry: string, from: string, to: string): string {
  if (from === to) return entry;
  return entry === from ? to : entry.startsWith(`${from}/`) ? `${to}${entry.slice(from.length)}` : entry;
}

/** The stat dockerd puts in X-Docker-Container-Path-Stat: `mode` is a Go os.FileMode. */
function pathStat(st: import('node:fs').Stats, name: string, linkTarget: string): PathStat {
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += 2 ** 31;
  if (st.isSymbolicLink()) mode += 2 ** 27;
  if (st.isFIFO()) mode += 2 ** 25;
  if (st.isSocket()) mode += 2 ** 24;
  if (st.isBlockDevice()) mode += 2 ** 26;
  if (st.isCharacterDevice()) mode += 2 ** 26 + 2 ** 21;
  if (st.mode & 0o4000) mode += 2 ** 23;
  if (st.mode & 0o2000) mode += 2 ** 22;
  if (st.mode & 0o1000) mode += 2 ** 20;
  return { name, size: st.size, mode, mtime: goTime(st.mtimeMs), linkTarget };
}

/** Go's RFC3339Nano: trailing zeros of the fraction dropped. */
function goTime(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString().slice(0, 19);
  const frac = String(Math.round((ms % 1000) * 1e6)).padStart(9, '0').replace(/0+$/, '');
  return `${iso}${frac ? `.${frac}` : ''}Z`;
}
