import {
  chmodSync, closeSync, constants, copyFileSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync,
  openSync, readdirSync, readlinkSync, readSync, statfsSync, symlinkSync, writeSync, type Stats,
} from 'node:fs';
import { copyFile, realpath } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../../kernel/index.js';
import { devMajor, devMinor } from './tree-walk.js';
import { modeAtCreate, readUmask } from './create-mode.js';
import { makeNodes, type NodeSpec } from './mknod.js';
import { readXattrTree, writeXattrs, type XattrWrite } from './xattrs.js';
import { isHostOnlyXattr } from './whiteouts.js';

/**
 * Files up to this size are copied with a synchronous call; larger ones in the thread pool, a few at once,
 * beside the walk (the event loop is never held long, and the kernel copies on the other cores meanwhile).
 */
const SYNC_COPY_MAX = 64 << 10;
/** Large files copied at once in the thread pool (libuv's default pool has 4 threads: one is left for other work). */
const MAX_COPIES_IN_FLIGHT = 3;
/** Entries copied between two turns of the event loop. */
const ENTRIES_PER_TURN = 512;
/** statfs magic numbers of the filesystems whose FICLONE shares extents (btrfs, xfs): there a copy is a reflink. */
const REFLINK_FS = new Set([0x9123683e, 0x58465342]);
/** The buffer small files are copied through (synchronous calls on one thread: one buffer is enough). */
const smallCopyBuffer = Buffer.allocUnsafe(SYNC_COPY_MAX);

interface Entry {
  rel: string;
  st: Stats;
}

/**
 * Copies the tree under `src` into the existing, empty directory `dst`
 * (dockerd vfs's CopyDir): modes (setuid included), owners, mtimes, symlinks
 * as symlinks, hard links within the tree as hard links, device nodes and
 * FIFOs re-created, sockets skipped. On btrfs and xfs every file is a
 * reflink (FICLONE); elsewhere files over 64 KiB use copy_file_range and
 * smaller ones one read and one write (copySmallFile). xattrs are copied best effort
 * (overlay bookkeeping and SELinux labels left out) after ownership is set,
 * because chown clears security.capability. Directory mtimes are set last.
 *
 * Speed (a vfs layer on a parent is a copy of the whole parent, thousands of
 * entries): the metadata calls are synchronous, as in the tar applier, since
 * a thread-pool round trip per call cost more than the calls themselves;
 * files over 64 KiB are copied in the thread pool, a few at once, while the
 * walk goes on (a vfs layer of a multi-layer load copies its whole parent:
 * the kernel's copying then runs on the other cores), and the loop gets a
 * turn every few hundred entries. Small files, most of a layer's entries,
 * take 7 or 8 system calls each (copySmallFile), the fewest that create,
 * fill and stamp a file. An entry that belongs to root:root is not chowned when
 * the daemon is root:root (a new entry already is, as the directories it is
 * made in are not set-group-ID until their metadata is set at the end). The
 * source's xattrs are read (one getfattr) while the copy runs.
 */
export async function copyTree(srcDir: string, dstDir: string, log?: Logger): Promise<void> {
  const src = await realpath(srcDir);
  const dst = await realpath(dstDir);
  const xattrTable = readXattrTree(src);
  xattrTable.catch(() => undefined); // awaited below; not unhandled if the copy fails first
  // New entries are root:root when the daemon is and no set-group-ID directory hands its group down.
  const newIsRoot = process.geteuid?.() === 0 && process.getegid?.() === 0 && (lstatSync(dst).mode & 0o2000) === 0;
  const needsChown = (st: Stats) => !(newIsRoot && st.uid === 0 && st.gid === 0);
  // Without extent sharing (ext4, tmpfs…) a FICLONE attempt per file only fails (one more system call each).
  const reflink = REFLINK_FS.has(Number(statfsSync(dst).type) >>> 0);
  const cloneFlag = reflink ? constants.COPYFILE_FICLONE : 0;
  const umask = readUmask();
  const links = new Map<string, string>();
  /** Large files being copied in the thread pool, by destination. */
  const copying = new Map<string, Promise<void>>();
  let copyError: unknown = null;
  const dirs: Entry[] = [];
  const nodes: Array<{ spec: NodeSpec; e: Entry }> = [];
  const stack: string[] = [''];
  let sinceTurn = 0;

  try {
    while (stack.length > 0 && copyError === null) {
      const relDir = stack.pop()!;
      for (const name of readdirSync(relDir ? `${src}/${relDir}` : src)) {
        const rel = relDir ? `${relDir}/${name}` : name;
        const from = `${src}/${rel}`;
        const to = `${dst}/${rel}`;
        const st = lstatSync(from, { throwIfNoEntry: false });
        if (!st) continue; // vanished meanwhile
        if (++sinceTurn >= ENTRIES_PER_TURN) {
          sinceTurn = 0;
          await yieldToLoop();
        }
        const e: Entry = { rel, st };
        if (st.isDirectory()) {
          mkdirSync(to, 0o700);
          dirs.push(e);
          stack.push(rel);
          continue;
        }
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first) {
            // The first name's copy may still be in flight.
            const made = copying.get(first);
            if (made) await made;
            linkSync(first, to);
            continue;
          }
          links.set(key, to);
        }
        if (st.isFile()) {
          if (st.size <= SYNC_COPY_MAX) {
            if (reflink) copyFileSync(from, to, cloneFlag);
            else {
              copySmallFile(from, to, st, needsChown(st), umask);
              continue; // owner, mode and times set through the descriptor
            }
          } else {
            // Large files are copied in the thread pool, several at once, while this walk goes on: the kernel
            // copies their data on the other cores. Owner, mode and times follow each copy.
            while (copying.size >= MAX_COPIES_IN_FLIGHT) await Promise.race(copying.values());
            if (copyError !== null) break;
            const done = copyFile(from, to, cloneFlag)
              .then(() => setMeta(to, st, needsChown(st)))
              .catch((err: unknown) => { copyError ??= err; })
              .finally(() => copying.delete(to));
            copying.set(to, done);
            continue;
          }
        } else if (st.isSymbolicLink()) {
          symlinkSync(readlinkSync(from), to);
        } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
          const kind = st.isFIFO() ? 'p' : st.isBlockDevice() ? 'b' : 'c';
          nodes.push({ spec: { path: to, kind, mode: st.mode, major: devMajor(st.rdev), minor: devMinor(st.rdev) }, e });
          continue;
        } else {
          continue; // sockets belong to the process that bound them
        }
        setMeta(to, st, needsChown(st));
      }
    }
  } finally {
    // Every copy has ended, also after a failure: the caller removes dst, and nothing may still write into it.
    await Promise.all(copying.values());
  }
  if (copyError !== null) throw copyError;

  for (const f of await makeNodes(nodes.map((n) => n.spec))) log?.warn('could not copy device node', { path: f.path, error: f.error });
  for (const n of nodes) {
    try { setMeta(n.spec.path, n.e.st, true); } catch { /* not created: logged above */ }
  }
  for (const d of dirs) setMeta(`${dst}/${d.rel}`, d.st, needsChown(d.st), false);

  const rootEntry: Entry = { rel: '', st: lstatSync(src) };
  setMeta(dst, rootEntry.st, true, false);
  await copyXattrs(await xattrTable.catch(() => new Map()), dst, log);
  // Parents after their children (the reverse of the order they were made in): setting a child's time touches nothing above it.
  for (const d of [rootEntry, ...dirs].reverse()) lutimesSync(d.rel ? `${dst}/${d.rel}` : dst, d.st.atimeMs / 1000, d.st.mtimeMs / 1000);
}

/**
 * A small regular file copied by hand where the filesystem cannot share
 * extents: open both, one read and one write through one buffer, owner, mode
 * and times through the new descriptor, close both — 8 system calls, 4 of
 * them changing the new inode; 7 and 3 when the file can be created with
 * its final mode (no fchmod). libuv's copyfile plus setMeta after it took
 * 12, 6 of them changing it (two fstats, an ftruncate of the new file, an
 * fchmod the chmod repeated, a FICLONE that fails on ext4, then
 * copy_file_range, chmod and utimensat by path): on a full-copy layer of
 * thousands of files, what the copy's time is made of. Read until the end of
 * the file, not `st.size`: a file still growing is copied as found, as
 * copyfile would.
 */
function copySmallFile(from: string, to: string, st: Stats, chown: boolean, umask: number | null): void {
  const mode = st.mode & 0o7777;
  const finalMode = modeAtCreate(mode, umask);
  const src = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const dst = openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, finalMode ? mode : 0o600);
    try {
      // A short read of a regular file is its end: no read just to see 0.
      for (let n = smallCopyBuffer.length; n === smallCopyBuffer.length;) {
        n = readSync(src, smallCopyBuffer, 0, smallCopyBuffer.length, null);
        for (let off = 0; off < n;) off += writeSync(dst, smallCopyBuffer, off, n - off);
      }
      // chown first: it clears set-id bits, which the chmod then sets.
      if (chown) fchownSync(dst, st.uid, st.gid);
      if (!finalMode) fchmodSync(dst, mode);
      futimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

function setMeta(to: string, st: Stats, chown: boolean, times = true): void {
  // chown first: it clears set-id bits, which the chmod then sets.
  if (chown) lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
  if (times) lutimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
}

async function copyXattrs(table: Awaited<ReturnType<typeof readXattrTree>>, dst: string, log?: Logger): Promise<void> {
  const writes: XattrWrite[] = [];
  for (const [rel, attrs] of table) {
    for (const [name, value] of attrs) {
      if (!isHostOnlyXattr(name)) writes.push({ path: rel ? `${dst}/${rel}` : dst, name, value });
    }
  }
  const r = await writeXattrs(writes);
  if (!r.ok) log?.warn('some extended attributes were not copied', { errors: r.errors });
}
