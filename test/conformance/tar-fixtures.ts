import { readFile, readlink, lstat, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { walkTree } from '../../plugins/graph-common/tree-walk.js';
import { runCommand } from '../../plugins/graph-common/run-command.js';
import type { PackHeader } from '../../plugins/graph-common/tar-types.js';

/** One entry of a hand-made layer tar. `content` implies a regular file. */
export interface TarSpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** A layer tar built in memory from specs (tests only; layers are small). */
export async function makeTar(entries: TarSpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => { for await (const c of pack) chunks.push(c as Buffer); })();
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith('/') ? 'directory' : 'file');
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date('2024-01-02T03:04:05Z'),
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.pax,
    } as PackHeader;
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') pack.entry(header, Buffer.from(e.content ?? ''), (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export async function tarOf(entries: TarSpec[]): Promise<Readable> {
  return Readable.from([await makeTar(entries)]);
}

export interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname: string | null;
  content: Buffer;
  pax: Record<string, string>;
  devmajor: number;
  devminor: number;
}

/** Every entry of a tar stream, names without a trailing slash. */
export async function readTar(stream: Readable): Promise<ReadEntry[]> {
  const extract = tar.extract();
  const out: ReadEntry[] = [];
  const feeding = pipeline(stream, extract);
  feeding.catch(() => undefined);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const c of entry) parts.push(c as Buffer);
    const h = entry.header;
    out.push({
      name: h.name.replace(/\/$/, ''),
      type: h.type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      linkname: h.linkname ?? null,
      content: Buffer.concat(parts),
      pax: (h.pax as Record<string, string> | null) ?? {},
      devmajor: h.devmajor,
      devminor: h.devminor,
    });
  }
  await feeding;
  return out;
}

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  content?: string;
  target?: string;
}

/** The tree under dir as rel path → node, for comparing layers in assertions. */
export async function readTree(dir: string): Promise<Map<string, TreeNode>> {
  const out = new Map<string, TreeNode>();
  for await (const e of walkTree(dir)) {
    const st = e.st;
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
    const node: TreeNode = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ino: st.ino };
    if (type === 'file') node.content = (await readFile(e.abs)).toString('utf8');
    if (type === 'symlink') node.target = await readlink(e.abs);
    out.set(e.rel, node);
  }
  return out;
}

/** Mount points at or below `root`, from /proc/self/mountinfo (octal escapes decoded). */
export async function mountsUnder(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === root || p.startsWith(root + '/'));
}

/** Whether user.* xattrs can be set on files in dir (needs setfattr and filesystem support). */
export async function userXattrsSupported(dir: string): Promise<boolean> {
  const f = join(dir, `.xattr-probe-${process.pid}`);
  await writeFile(f, '');
  try {
    const r = await runCommand('setfattr', ['-n', 'user.berth-probe', '-v', '1', f]);
    return r.code === 0;
  } catch {
    return false;
  } finally {
    await rm(f, { force: true });
  }
}

/** A file's identity and content, to prove a hostile layer did not touch it. */
export async function fingerprint(path: string): Promise<string> {
  const st = await lstat(path);
  return `${st.ino}:${st.nlink}:${st.size}:${st.mtimeMs}:${st.mode}:${(await readFile(path)).toString('base64')}`;
}
