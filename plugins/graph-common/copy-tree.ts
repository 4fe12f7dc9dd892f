import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readlink, realpath, symlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../kernel/index.js';
import { devMajor, devMinor, walkTree, type TreeEntry } from './tree-walk.js';
import { makeNodes, type NodeSpec } from './mknod.js';
import { readXattrTree, writeXattrs, type XattrWrite } from './xattrs.js';
import { isHostOnlyXattr } from './whiteouts.js';

/**
 * Copies the tree under `src` into the existing, empty directory `dst`
 * (dockerd vfs's CopyDir): modes (setuid included), owners, mtimes, symlinks
 * as symlinks, hard links within the tree as hard links, device nodes and
 * FIFOs re-created, sockets skipped. File data uses copy_file_range and a
 * reflink where the filesystem offers one. xattrs are copied best effort
 * (overlay bookkeeping and SELinux labels left out) after ownership is set,
 * because chown clears security.capability. Directory mtimes are set last.
 */
export async function copyTree(srcDir: string, dstDir: string, log?: Logger): Promise<void> {
  const src = await realpath(srcDir);
  const dst = await realpath(dstDir);
  const links = new Map<string, string>();
  const dirs: TreeEntry[] = [];
  const nodes: Array<{ spec: NodeSpec; e: TreeEntry }> = [];

  for await (const e of walkTree(src)) {
    const to = join(dst, e.rel);
    const st = e.st;
    if (st.isDirectory()) {
      await mkdir(to, 0o700);
      dirs.push(e);
      continue;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first) { await link(first, to); continue; }
      links.set(key, to);
    }
    if (st.isFile()) {
      await copyFile(e.abs, to, constants.COPYFILE_FICLONE);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(e.abs), to);
    } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
      const kind = st.isFIFO() ? 'p' : st.isBlockDevice() ? 'b' : 'c';
      nodes.push({ spec: { path: to, kind, mode: st.mode, major: devMajor(st.rdev), minor: devMinor(st.rdev) }, e });
      continue;
    } else {
      continue; // sockets belong to the process that bound them
    }
    await setMeta(to, e);
  }

  for (const f of await makeNodes(nodes.map((n) => n.spec))) log?.warn('could not copy device node', { path: f.path, error: f.error });
  for (const n of nodes) await setMeta(n.spec.path, n.e).catch(() => undefined);
  for (const d of dirs) await setMeta(join(dst, d.rel), d, false);

  const rootEntry: TreeEntry = { rel: '', abs: src, st: await lstat(src) };
  await setMeta(dst, rootEntry, false);
  await copyXattrs(src, dst, log);
  for (const d of [rootEntry, ...dirs].reverse()) await lutimes(join(dst, d.rel), d.st.atimeMs / 1000, d.st.mtimeMs / 1000);
}

async function setMeta(to: string, e: TreeEntry, times = true): Promise<void> {
  await lchown(to, e.st.uid, e.st.gid);
  if (!e.st.isSymbolicLink()) await chmod(to, e.st.mode & 0o7777);
  if (times) await lutimes(to, e.st.atimeMs / 1000, e.st.mtimeMs / 1000);
}

async function copyXattrs(src: string, dst: string, log?: Logger): Promise<void> {
  const table = await readXattrTree(src);
  const writes: XattrWrite[] = [];
  for (const [rel, attrs] of table) {
    for (const [name, value] of attrs) {
      if (!isHostOnlyXattr(name)) writes.push({ path: rel ? join(dst, rel) : dst, name, value });
    }
  }
  const r = await writeXattrs(writes);
  if (!r.ok) log?.warn('some extended attributes were not copied', { errors: r.errors });
}
