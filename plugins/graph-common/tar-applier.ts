import { chmod, lchown, link, lutimes, mkdir, open, readdir, realpath, rm, symlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { InvalidParameterError, SystemError, type Logger } from '../../kernel/index.js';
import { breakoutError, cleanEntryName, ensureDirInRoot, parentsAreReal, resolveInRoot } from './scoped-path.js';
import { PAX_XATTR_PREFIX, type TarHeader } from './tar-types.js';
import { lstatOrNull } from './tree-walk.js';
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
 * name an existing non-directory inside root.
 *
 * Streaming: entries are processed as they arrive, file data is copied chunk
 * by chunk. Device nodes and xattrs need helper binaries and are batched
 * (re-checked before use); directory mtimes are set last, deepest first.
 */
export async function applyLayerTar(rootDir: string, input: Readable, opts: ApplyOptions = {}): Promise<number> {
  const root = await realpath(rootDir);
  const unpacker = new LayerUnpacker(root, opts);
  const extract = tar.extract();
  const feeding = pipeline(input, extract);
  feeding.catch(() => { /* reported through the iterator or awaited below */ });
  try {
    for await (const entry of extract) {
      await unpacker.entry(entry.header as TarHeader, entry as unknown as AsyncIterable<Buffer>);
      entry.resume();
    }
    await feeding;
    await unpacker.finish();
  } catch (err) {
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

class LayerUnpacker {
  size = 0;
  /** Absolute paths this layer created: an opaque marker keeps these. */
  private readonly unpacked = new Set<string>();
  /** AUFS metadata directories (`.wh..wh.plnk`) whose contents are skipped. */
  private readonly skipped: string[] = [];
  private readonly dirTimes: Array<[string, Date]> = [];
  private readonly nodes = new Map<string, PendingNode>();
  private readonly xattrs = new Map<string, Array<XattrWrite & { required: boolean }>>();

  constructor(private readonly root: string, private readonly opts: ApplyOptions) {}

  async entry(h: TarHeader, data: AsyncIterable<Buffer>): Promise<void> {
    const rel = cleanEntryName(h.name);
    if (rel === null) throw breakoutError(h.name, this.root);
    if (rel === '') return; // the root's own metadata belongs to the driver
    if (this.skipped.some((p) => rel.startsWith(p + '/'))) return;
    const slash = rel.lastIndexOf('/');
    const dirRel = slash < 0 ? '' : rel.slice(0, slash);
    const base = rel.slice(slash + 1);

    if (base === WHITEOUT_OPAQUE_DIR) return this.opaque(dirRel);
    if (base.startsWith(WHITEOUT_META_PREFIX)) {
      if (h.type === 'directory') this.skipped.push(rel);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(dirRel, base.slice(WHITEOUT_PREFIX.length), h);
    if (!SUPPORTED.has(h.type ?? 'file')) {
      this.opts.log?.debug('skipping tar entry of unsupported type', { name: h.name, type: h.type });
      return;
    }

    const parent = await ensureDirInRoot(this.root, dirRel);
    const path = join(parent, base);
    const existing = await lstatOrNull(path);
    if (existing && !(existing.isDirectory() && h.type === 'directory')) await this.removePath(path);
    this.unpacked.add(path);

    switch (h.type) {
      case 'directory':
        if (!existing?.isDirectory()) await mkdir(path, 0o700);
        break;
      case 'symlink':
        await symlink(h.linkname ?? '', path);
        break;
      case 'link':
        return this.hardlink(h, path);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.nodes.set(path, {
          spec: { path, kind: h.type === 'fifo' ? 'p' : h.type === 'block-device' ? 'b' : 'c', mode: h.mode ?? 0o600, major: h.devmajor ?? 0, minor: h.devminor ?? 0 },
          uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? new Date(0), whiteout: false,
        });
        this.queueXattrs(path, h);
        return;
      default:
        await this.writeFile(path, data);
        this.size += h.size ?? 0;
    }
    await lchown(path, h.uid ?? 0, h.gid ?? 0);
    if (h.type !== 'symlink') await chmod(path, (h.mode ?? 0o644) & 0o7777);
    this.queueXattrs(path, h);
    const mtime = h.mtime ?? new Date(0);
    if (h.type === 'directory') this.dirTimes.push([path, mtime]);
    else await lutimes(path, mtime, mtime);
  }

  private async writeFile(path: string, data: AsyncIterable<Buffer>): Promise<void> {
    const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of data) await fh.write(chunk);
    } finally {
      await fh.close();
    }
  }

  private async hardlink(h: TarHeader, path: string): Promise<void> {
    const targetRel = cleanEntryName(h.linkname ?? '');
    if (targetRel === null || targetRel === '') throw breakoutError(h.linkname ?? '', this.root);
    const target = await resolveInRoot(this.root, targetRel);
    await this.flushNodes(); // the target may be a device queued a moment ago
    const st = await lstatOrNull(target);
    if (!st) throw new InvalidParameterError(`invalid hardlink ${h.name} -> ${h.linkname}: no such file in the layer`);
    if (st.isDirectory()) throw new InvalidParameterError(`invalid hardlink ${h.name} -> ${h.linkname}: target is a directory`);
    await link(target, path);
  }

  /** `.wh.<name>`: delete name (remove mode) or record an overlay whiteout. */
  private async whiteout(dirRel: string, name: string, h: TarHeader): Promise<void> {
    if (name === '' || name === '.' || name === '..') return;
    if (this.opts.whiteouts === 'overlay') {
      const parent = await ensureDirInRoot(this.root, dirRel);
      const path = join(parent, name);
      if (await lstatOrNull(path)) await this.removePath(path);
      this.nodes.set(path, { spec: { path, kind: 'c', mode: 0, major: 0, minor: 0 }, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ?? new Date(0), whiteout: true });
      return;
    }
    const parent = await resolveInRoot(this.root, dirRel, true);
    const st = await lstatOrNull(parent);
    if (!st?.isDirectory()) return; // nothing there to delete
    const path = join(parent, name);
    await this.removePath(path);
    this.unpacked.delete(path);
  }

  /** `.wh..wh..opq`: hide what the lower layers had in dir. */
  private async opaque(dirRel: string): Promise<void> {
    const dir = await ensureDirInRoot(this.root, dirRel);
    if (this.opts.whiteouts === 'overlay') {
      this.addXattr({ path: dir, name: this.opts.opaqueXattr ?? OVERLAY_OPAQUE_XATTR, value: Buffer.from('y'), required: true });
      return;
    }
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (!this.unpacked.has(path)) await this.removePath(path);
    }
  }

  /** Removes a path (never following it) and forgets work queued for it. */
  private async removePath(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
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
    for (const n of pending) if (await parentsAreReal(this.root, n.spec.path)) safe.push(n);
    const failed = new Map((await makeNodes(safe.map((n) => n.spec))).map((f) => [f.path, f.error]));
    for (const n of safe) {
      const error = failed.get(n.spec.path);
      if (error !== undefined) {
        if (n.whiteout) throw new SystemError(`creating overlay whiteout ${n.spec.path}: ${error}`);
        // Devices cannot be created without CAP_MKNOD (user namespaces, some sandboxes); dockerd skips them there too.
        this.opts.log?.warn('skipping device node the host does not allow', { path: n.spec.path, error });
        continue;
      }
      await lchown(n.spec.path, n.uid, n.gid);
      if (!n.whiteout) await chmod(n.spec.path, n.spec.mode & 0o7777);
      await lutimes(n.spec.path, n.mtime, n.mtime);
    }
  }

  async finish(): Promise<void> {
    await this.flushNodes();
    const batch: Array<XattrWrite & { required: boolean }> = [];
    for (const list of this.xattrs.values()) {
      for (const x of list) if (await parentsAreReal(this.root, x.path)) batch.push(x);
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
    for (const [path, mtime] of this.dirTimes.reverse()) {
      if (await lstatOrNull(path)) await lutimes(path, mtime, mtime);
    }
  }
}

const SUPPORTED = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);
