import * as fs from 'node:fs';
import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ContainerRecord } from '../../kernel/index.js';
import { etcMounts } from './etc-files.js';

/** A mount `docker cp` sees: a volume or bind, or one of the generated /etc files. */
export interface ViewMount {
  destination: string;
  source: string;
  rw: boolean;
}

/**
 * What dockerd's archive code sees after mountVolumes: the container's root
 * filesystem with its volumes, binds and (once it has started) the generated
 * /etc/hosts, /etc/hostname and /etc/resolv.conf mounted over it. Instead of
 * mounting them, this view maps every path a tar walk or an extraction
 * touches to the host path behind it, so `docker cp c:/ out` includes the
 * volume contents and `docker cp c:/etc/hosts -` the generated file.
 * tmpfs mounts live only inside the container and are not seen (as dockerd).
 *
 * Writes behave as dockerd's do through real mounts: into a read-only mount
 * they fail with EROFS, and a file mount point cannot be unlinked (EBUSY),
 * so `docker cp f c:/etc/hosts` is refused as dockerd refuses it.
 */
export class MountView {
  private readonly mounts: ViewMount[];

  constructor(private readonly root: string, c: ContainerRecord) {
    const user = Object.values(c.MountPoints ?? {}).filter((m) => m.Type !== 'tmpfs' && m.Source);
    const dests = new Set(user.map((m) => m.Destination));
    const etc = c.HostsPath && c.HostnamePath && c.ResolvConfPath
      ? etcMounts({ HostsPath: c.HostsPath, HostnamePath: c.HostnamePath, ResolvConfPath: c.ResolvConfPath }, c.HostConfig.ReadonlyRootfs === true, dests)
      : [];
    this.mounts = [
      ...user.map((m) => ({ destination: posix.normalize(m.Destination), source: m.Source, rw: m.RW })),
      ...etc.filter((m) => fs.existsSync(m.Source)).map((m) => ({ destination: m.Destination, source: m.Source, rw: !m.ReadOnly })),
    ].sort((a, b) => b.destination.length - a.destination.length);
  }

  /** The container path of a host path under the rootfs or a mount source; undefined elsewhere. */
  containerPath(hostPath: string): string | undefined {
    const p = posix.normalize(hostPath);
    if (p === this.root || p.startsWith(`${this.root}/`)) return p.slice(this.root.length) || '/';
    let best: ViewMount | undefined;
    for (const m of this.mounts) {
      if ((p === m.source || p.startsWith(`${m.source}/`)) && (!best || m.source.length > best.source.length)) best = m;
    }
    return best ? posix.join(best.destination, p.slice(best.source.length)) : undefined;
  }

  /** The mount a container path is in (the deepest), if any. */
  mountOf(containerPath: string): ViewMount | undefined {
    return this.mounts.find((m) => containerPath === m.destination || containerPath.startsWith(m.destination === '/' ? '/' : `${m.destination}/`));
  }

  /** The host path that holds what the container sees at `hostPath`. */
  hostPath(hostPath: string): string {
    const cp = this.containerPath(hostPath);
    if (cp === undefined) return hostPath;
    const m = this.mountOf(cp);
    if (!m) return posix.join(this.root, cp);
    return posix.join(m.source, cp.slice(m.destination.length));
  }

  /** A `fs` for tar-fs: every path goes through hostPath; writes refused as real mounts would refuse them. */
  fs(): typeof fs {
    const map = (p: fs.PathLike) => this.hostPath(String(p));
    type Cb = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
    const denied = (op: string, p: fs.PathLike, unlinking = false): NodeJS.ErrnoException | null => {
      const cp = this.containerPath(String(p));
      if (cp === undefined) return null;
      const m = this.mountOf(cp);
      if (!m) return null;
      if (unlinking && cp === m.destination) return errno('EBUSY', `unlinkat ${cp}: device or resource busy`);
      if (!m.rw) return errno('EROFS', `${op} ${cp}: read-only file system`);
      return null;
    };
    const write = (op: string, fn: (...args: never[]) => void, unlinking = false) => (p: fs.PathLike, ...rest: unknown[]) => {
      const err = denied(op, p, unlinking);
      const cb = rest[rest.length - 1] as Cb;
      if (err) return process.nextTick(cb, err);
      (fn as (...a: unknown[]) => void)(map(p), ...rest);
    };
    const view: Partial<typeof fs> = {
      lstat: ((p: fs.PathLike, cb: Cb) => fs.lstat(map(p), cb)) as typeof fs.lstat,
      stat: ((p: fs.PathLike, cb: Cb) => fs.stat(map(p), cb)) as typeof fs.stat,
      readdir: ((p: fs.PathLike, cb: Cb) => fs.readdir(map(p), cb)) as typeof fs.readdir,
      readlink: ((p: fs.PathLike, cb: Cb) => fs.readlink(map(p), cb)) as typeof fs.readlink,
      realpath: ((p: fs.PathLike, cb: Cb) => fs.realpath(map(p), cb)) as unknown as typeof fs.realpath,
      createReadStream: ((p: fs.PathLike, opts?: object) => fs.createReadStream(map(p), opts as never)) as typeof fs.createReadStream,
      createWriteStream: ((p: fs.PathLike, opts?: object) => {
        // dockerd removes an existing file before writing it, which a file mount point refuses.
        const err = denied('open', p, true);
        if (err) {
          const s = new PassThrough();
          process.nextTick(() => s.destroy(err));
          return s;
        }
        return fs.createWriteStream(map(p), opts as never);
      }) as typeof fs.createWriteStream,
      mkdir: write('mkdir', fs.mkdir) as typeof fs.mkdir,
      unlink: write('unlinkat', fs.unlink, true) as typeof fs.unlink,
      utimes: write('utimes', fs.utimes) as typeof fs.utimes,
      chmod: write('chmod', fs.chmod) as typeof fs.chmod,
      lchmod: undefined,
      chown: write('chown', fs.chown) as typeof fs.chown,
      lchown: write('lchown', fs.lchown) as typeof fs.lchown,
      symlink: ((target: fs.PathLike, p: fs.PathLike, cb: Cb) => {
        const err = denied('symlinkat', p);
        if (err) return process.nextTick(cb, err);
        fs.symlink(target, map(p), cb);
      }) as typeof fs.symlink,
      link: ((src: fs.PathLike, dst: fs.PathLike, cb: Cb) => {
        const err = denied('linkat', dst);
        if (err) return process.nextTick(cb, err);
        fs.link(map(src), map(dst), cb);
      }) as typeof fs.link,
    };
    return view as typeof fs;
  }
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}
