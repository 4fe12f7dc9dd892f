import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, chmodSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, rmSync, symlinkSync, writeSync, type Stats,
} from 'node:fs';
import { realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InvalidParameterError, SystemError, type Logger } from '../../kernel/index.js';
import { breakoutError, cleanEntryName, ensureDirInRootSync, parentsAreRealSync, resolveInRootSync } from './scoped-path.js';
import { PAX_XATTR_PREFIX, type TarHeader } from './tar-types.js';
import { parseTarStream, type TarEntryHandler } from './tar-parser.js';
import { VerifiedDirs } from './verified-dirs.js';
import { modeAtCreate, readUmask } from './create-mode.js';
import { makeNodes, type NodeSpec } from './mknod.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from './whiteouts.js';
import { writeXattrs, type XattrWrite } from './xattrs.js';

export interface ApplyOptions {
  /**
   * How whiteouts are applied. `remove` (default): `.wh.x` deletes x and an
   * opaque marker empties the directory of everything this layer did not
   * bring — for a directory that holds the full tree (vfs, naive apply).
   * `overlay`: they become overlay whiteouts (char device 0/0) and the
   * opaque xattr — for unpacking into an overlay upper dir.
   */
  whiteouts?: 'remove' | 'overlay';
  /** xattr that marks an opaque dir in `overlay` mode. */
  opaqueXattr?: string;
  /** A layer xattr that cannot be set fails the apply (dockerd's default) or is logged and dropped. */
  xattrErrors?: 'error' | 'ignore';
  log?: Logger;
}

/**
 * Unpacks a layer tar into `root` and returns the bytes of file data written.
 *
 * Safety: nothing is ever written outside root. Entry names that climb out
 * (`../x`) are rejected; absolute names are taken relative to root; every
 * parent directory is resolved inside root with symlinks followed only
 * within it (chroot semantics), so `link -> /etc` then `link/passwd` lands
 * in `<root>/etc/passwd`; the final component is never followed (an existing
 * entry is removed, files are created O_EXCL|O_NOFOLLOW); hard links must
 * name an existing non-directory inside root. Parents already seen to be real
 * directories are remembered (VerifiedDirs) until an entry replaces them.
 *
 * Speed: the file system calls are synchronous, on purpose. A layer is
 * thousands of entries of a few system calls each, and as promises every one
 * of them was a thread-pool round trip: that, not the disk, was where an
 * import spent its time. Each call here is a short metadata operation or one
 * write of at most one input chunk, so the event loop is never held for
 * long. Files get owner, mode and times through their open descriptor;
 * entries are created first and only an EEXIST costs a look at what was
 * there. Device nodes and xattrs need helper binaries and are batched
 * (re-checked before use); directory mtimes are set last.
 */
export async function applyLayerTar(rootDir: string, input: Readable, opts: ApplyOptions = {}): Promise<number> {
  const root = await realpath(rootDir);
  const unpacker = new LayerUnpacker(root, opts);
  try {
    await parseTarStream(input, unpacker);
    await unpacker.finish();
  } catch (err) {
    unpacker.abort();
    input.destroy();
    throw err;
  }
  return unpacker.size;
}

interface PendingNode {
  spec: NodeSpec;
  uid: number;
  gid: number;
  mtime: Date;
  whiteout: boolean;
}

/** The regular file whose data is arriving. */
interface OpenFile {
  fd: number;
  uid: number;
  gid: number;
  /** False when the new file already has uid and gid. */
  chown: boolean;
  mode: number;
  /** True when the file was created with `mode` already (no fchmod needed). */
  modeSet: boolean;
  mtime: Date;
}

/**
 * The unpacker behind applyLayerTar, for a caller that feeds the tar itself
 * (tar-apply-worker.ts: the same code on another thread). `root` must be a
 * real path (no symlink in it).
 */
export class LayerUnpacker implements TarEntryHandler {
  size = 0;
  /** Absolute paths this layer created: an opaque marker keeps these (remove mode only). */
  private readonly unpacked = new Set<string>();
  /** AUFS metadata directories (`.wh..wh.plnk`) whose contents are skipped. */
  private readonly skipped: string[] = [];
  /** Directory mtimes, set at the end (creating entries inside a directory changes its mtime); the last entry of a name wins. */
  private readonly dirTimes = new Map<string, Date>();
  private readonly nodes = new Map<string, PendingNode>();
  private readonly xattrs = new Map<string, Array<XattrWrite & { required: boolean }>>();
  private readonly dirs: VerifiedDirs;
  private file: OpenFile | null = null;

  /**
   * New entries belong to root:root without a chown when the daemon runs as
   * root:root and their directory's group is root (see VerifiedDirs): most
   * entries of most layers, and one system call fewer each.
   */
  private readonly ownsAsRoot = process.geteuid?.() === 0 && process.getegid?.() === 0;
  /** The umask, or null where it cannot be read (every file's mode is then set explicitly). */
  private readonly umask = readUmask();

  constructor(readonly root: string, private readonly opts: ApplyOptions) {
    this.dirs = new VerifiedDirs(root, lstatSync(root).gid === 0);
  }

  entry(h: TarHeader): void | Promise<void> {
    const rel = cleanEntryName(h.name);
    if (rel === null) throw breakoutError(h.name, this.root);
    if (rel === '') return; // the root's own metadata belongs to the driver
    if (this.skipped.length > 0 && this.skipped.some((p) => rel.startsWith(p + '/'))) return;
    const slash = rel.lastIndexOf('/');
    const dirRel = slash < 0 ? '' : rel.slice(0, slash);
    const base = rel.slice(slash + 1);

    if (base === WHITEOUT_OPAQUE_DIR) return this.opaque(dirRel);
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      if (h.type === 'directory') this.skipped.push(rel);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(dirRel, base.slice(WHITEOUT_PREFIX.length), h);
    if (h.type == null || !SUPPORTED.has(h.type)) {
      this.opts.log?.debug('skipping tar entry of unsupported type', { name: h.name, type: h.type });
      return;
    }

    const parent = this.parentDir(dirRel);
    const path = `${parent}/${base}`;
    if (this.nodes.has(path)) this.forgetQueued(path); // a device queued by an earlier entry of the same name
    if (this.opts.whiteouts !== 'overlay') this.unpacked.add(path);
    const uid = h.uid ?? 0;
    const gid = h.gid ?? 0;
    const mtime = h.mtime ?? new Date(0);
    // Whether something new at path already has the owner the entry asks for.
    const ownedAlready = uid === 0 && gid === 0 && this.ownsAsRoot && this.dirs.groupIsRoot(parent) === true;

    switch (h.type) {
      case 'directory': {
        const mode = (h.mode ?? 0o755) & 0o7777;
        if (!(this.makeDir(path) && ownedAlready)) lchownSync(path, uid, gid);
        chmodSync(path, mode);
        this.dirs.add(path, gid === 0);
        this.dirTimes.set(path, mtime);
        break;
      }
      case 'symlink':
        this.create(path, () => symlinkSync(h.linkname ?? '', path));
        if (!ownedAlready) lchownSync(path, uid, gid);
        lutimesSync(path, mtime, mtime);
        break;
      case 'link':
        if (this.nodes.size > 0) return this.flushNodes().then(() => this.hardlink(h, path)); // the target may be a queued device
        this.hardlink(h, path);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        if (lstatQuiet(path)) this.removePath(path);
        this.nodes.set(path, {
          spec: { path, kind: h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c', mode: h.mode ?? 0o600, major: h.devmajor ?? 0, minor: h.devminor ?? 0 },
          uid, gid, mtime, whiteout: false,
        });
        break;
      default: {
        const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        const mode = (h.mode ?? 0o644) & 0o7777;
        const modeSet = modeAtCreate(mode, this.umask); // then no fchmod (create-mode.ts)
        const fd = this.create(path, () => openSync(path, flags, modeSet ? mode : 0o600));
        this.file = { fd, uid, gid, chown: !ownedAlready, mode, modeSet, mtime };
        this.size += h.size ?? 0;
      }
    }
    this.queueXattrs(path, h);
  }

  data(piece: Buffer): void {
    const f = this.file;
    if (!f) return; // data of an entry that was skipped
    let off = 0;
    while (off < piece.length) off += writeSync(f.fd, piece, off, piece.length - off);
  }

  end(): void {
    const f = this.file;
    if (!f) return;
    this.file = null;
    try {
      // chown first: it clears set-id bits, which the chmod then sets.
      if (f.chown) fchownSync(f.fd, f.uid, f.gid);
      if (!f.modeSet) fchmodSync(f.fd, f.mode);
      futimesSync(f.fd, f.mtime, f.mtime);
    } finally {
      closeSync(f.fd);
    }
  }

  /** Closes the file being written when the unpacking failed half-way. */
  abort(): void {
    if (this.file) closeSync(this.file.fd);
    this.file = null;
  }

  /**
   * The directory `dirRel` (root-relative, cleaned) as an absolute path,
   * created if missing. A directory already verified costs nothing; otherwise
   * it is resolved in scope and every component checked (ensureDirInRootSync),
   * and the real path it resolved to is remembered.
   */
  private parentDir(dirRel: string): string {
    const abs = dirRel === '' ? this.root : `${this.root}/${dirRel}`;
    if (this.dirs.has(abs)) return abs;
    const real = ensureDirInRootSync(this.root, dirRel);
    // Every component of `real` was just seen to be a real directory; its own group is looked up once.
    this.dirs.add(real, lstatSync(real).gid === 0);
    return real;
  }

  /** Makes a directory at `path` (keeping one already there); true when it is new. The caller records it in `dirs`. */
  private makeDir(path: string): boolean {
    try {
      mkdirSync(path, 0o700);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lstatSync(path).isDirectory()) return false;
    }
    this.removePath(path);
    mkdirSync(path, 0o700);
    return true;
  }

  /** Runs `make`; when something is already at `path`, removes it (never following it) and runs `make` again. */
  private create<T>(path: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    this.removePath(path);
    return make();
  }

  private hardlink(h: TarHeader, path: string): void {
    const targetRel = cleanEntryName(h.linkname ?? '');
    if (targetRel === null || targetRel === '') throw breakoutError(h.linkname ?? '', this.root);
    const slash = targetRel.lastIndexOf('/');
    const targetDir = slash < 0 ? this.root : `${this.root}/${targetRel.slice(0, slash)}`;
    const target = this.dirs.has(targetDir) ? `${targetDir}/${targetRel.slice(slash + 1)}` : resolveInRootSync(this.root, targetRel);
    const st = lstatQuiet(target);
    if (!st) throw new InvalidParameterError(`invalid hardlink ${h.name} -> ${h.linkname}: no such file in the layer`);
    if (st.isDirectory()) throw new InvalidParameterError(`invalid hardlink ${h.name} -> ${h.linkname}: target is a directory`);
    this.create(path, () => linkSync(target, path));
  }

  /** `.wh.<name>`: delete name (remove mode) or record an overlay whiteout. */
  private whiteout(dirRel: string, name: string, h: TarHeader): void {
    if (name === '' || name === '.' || name === '..') return;
    if (this.opts.whiteouts === 'overlay') {
      const path = `${this.parentDir(dirRel)}/${name}`;
      if (lstatQuiet(path)) this.removePath(path);
      this.nodes.set(path, { spec: { path, kind: 'c', mode: 0, major: 0, minor: 0 }, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? new Date(0), whiteout: true });
      return;
    }
    const parent = resolveInRootSync(this.root, dirRel, true);
    if (!lstatQuiet(parent)?.isDirectory()) return; // nothing there to delete
    const path = `${parent}/${name}`;
    this.removePath(path);
    this.unpacked.delete(path);
  }

  /** `.wh..wh..opq`: hide what the lower layers had in dir. */
  private opaque(dirRel: string): void {
    const dir = this.parentDir(dirRel);
    if (this.opts.whiteouts === 'overlay') {
      this.addXattr({ path: dir, name: this.opts.opaqueXattr ?? OVERLAY_OPAQUE_XATTR, value: Buffer.from('y'), required: true });
      return;
    }
    for (const name of readdirSync(dir)) {
      const path = `${dir}/${name}`;
      if (!this.unpacked.has(path)) this.removePath(path);
    }
  }

  /** Removes a path (never following it) and forgets what was known or queued for it. */
  private removePath(path: string): void {
    rmSync(path, { recursive: true, force: true });
    this.dirs.forget(path);
    this.forgetQueued(path);
  }

  /** Drops device nodes and xattrs queued for `path` and below. */
  private forgetQueued(path: string): void {
    for (const map of [this.nodes, this.xattrs] as Array<Map<string, unknown>>) {
      map.delete(path);
      if (map.size > 0) for (const k of [...map.keys()]) if (k.startsWith(path + '/')) map.delete(k);
    }
  }

  private queueXattrs(path: string, h: TarHeader): void {
    for (const [key, value] of Object.entries(h.pax ?? {})) {
      if (key.startsWith(PAX_XATTR_PREFIX)) {
        this.addXattr({ path, name: key.slice(PAX_XATTR_PREFIX.length), value: Buffer.from(value, 'utf8'), required: false });
      }
    }
  }

  private addXattr(x: XattrWrite & { required: boolean }): void {
    const list = this.xattrs.get(x.path) ?? [];
    list.push(x);
    this.xattrs.set(x.path, list);
  }

  /** Creates queued device nodes, FIFOs and overlay whiteouts, then gives them owner, mode and mtime. */
  private async flushNodes(): Promise<void> {
    if (this.nodes.size === 0) return;
    const pending = [...this.nodes.values()];
    this.nodes.clear();
    const safe: PendingNode[] = [];
    for (const n of pending) if (parentsAreRealSync(this.root, n.spec.path)) safe.push(n);
    const failed = new Map((await makeNodes(safe.map((n) => n.spec))).map((f) => [f.path, f.error]));
    for (const n of safe) {
      const error = failed.get(n.spec.path);
      if (error !== undefined) {
        if (n.whiteout) throw new SystemError(`creating overlay whiteout ${n.spec.path}: ${error}`);
        // Devices cannot be created without CAP_MKNOD (user namespaces, some sandboxes); dockerd skips them there too.
        this.opts.log?.warn('skipping device node the host does not allow', { path: n.spec.path, error });
        continue;
      }
      lchownSync(n.spec.path, n.uid, n.gid);
      if (!n.whiteout) chmodSync(n.spec.path, n.spec.mode & 0o7777);
      lutimesSync(n.spec.path, n.mtime, n.mtime);
    }
  }

  async finish(): Promise<void> {
    await this.flushNodes();
    const batch: Array<XattrWrite & { required: boolean }> = [];
    for (const list of this.xattrs.values()) {
      for (const x of list) if (parentsAreRealSync(this.root, x.path)) batch.push(x);
    }
    this.xattrs.clear();
    const required = batch.filter((x) => x.required);
    const optional = batch.filter((x) => !x.required);
    const r1 = await writeXattrs(required);
    if (!r1.ok) throw new SystemError(`setting overlay opaque markers: ${r1.errors}`);
    const r2 = await writeXattrs(optional);
    if (!r2.ok) {
      if (this.opts.xattrErrors !== 'ignore') throw new SystemError(`setting extended attributes: ${r2.errors}`);
      this.opts.log?.warn('some extended attributes could not be set (best-effort mode)', { errors: r2.errors });
    }
    // A path a later entry turned into something else keeps that entry's time.
    for (const [path, mtime] of this.dirTimes) {
      if (lstatQuiet(path)?.isDirectory()) lutimesSync(path, mtime, mtime);
    }
  }
}

/** lstat, or undefined when nothing is there. */
function lstatQuiet(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

const SUPPORTED = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);
