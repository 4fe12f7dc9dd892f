import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { backingFsName } from '../graph-common/backing-fs.js';
import { CommandMissingError, runChecked } from '../graph-common/run-command.js';
import { readXattrs, writeXattrs, xattrToolsAvailable } from '../graph-common/xattrs.js';
import { OVERLAY_OPAQUE_XATTR } from '../graph-common/whiteouts.js';
import { unmount } from './overlay-mount.js';

/** Filesystems overlay cannot use as its upper layer (dockerd 20.10's incompatible list). */
const INCOMPATIBLE = new Set(['overlayfs', 'aufs', 'zfs', 'ecryptfs', 'nfs']);

/**
 * Backing filesystems known to give overlay what it needs (d_type in
 * directory entries, trusted xattrs). On these, as dockerd 20.10 on a
 * kernel >= 4.0, no test mount is made. Anything else is tried with a real
 * mount once per kernel and filesystem. xfs is not listed: one made with
 * ftype=0 has no d_type.
 */
const KNOWN_GOOD = new Set(['extfs', 'btrfs', 'tmpfs', 'f2fs']);

/** Facts about the host that shape every mount and the status rows. */
export interface OverlayHost {
  backingFs: string;
  /** "index=off," when the kernel has the index feature (so one upper can be remounted), else "". */
  extraOptions: string;
  usingMetacopy: boolean;
}

/**
 * Whether overlay2 can run with its layers in `root`; null when it can, else
 * the reason (used for SkipPlugin). As dockerd 20.10's overlay2 Init: the
 * kernel must list overlay in /proc/filesystems (after `modprobe overlay`
 * when it does not yet), the backing filesystem must be one overlay can sit
 * on (btrfs from kernel 4.7), and only an old kernel (< 4.0) or an unfamiliar
 * backing filesystem gets a test mount with two lower dirs, since a mount
 * costs two processes on the start-up path. Creates root; removes it again if
 * it was created here and the probe failed, so a skipped driver leaves no trace.
 */
export async function probeOverlay(root: string): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'overlay2 needs root (rootless overlay is not supported)';
  const created = await mkdir(root, { recursive: true, mode: 0o710 });
  const reason = await supportReason(root);
  if (reason && created) await rm(created, { recursive: true, force: true });
  return reason;
}

async function supportReason(root: string): Promise<string | null> {
  if (!(await overlayInKernel())) return 'overlay is not supported by this kernel (no "overlay" in /proc/filesystems after modprobe overlay)';
  const fs = await backingFsName(root);
  if (INCOMPATIBLE.has(fs)) return `backing file system is unsupported for this graph driver: ${root} is on ${fs}`;
  const kernel = kernelVersion();
  if (fs === 'btrfs' && kernel < 4.07) return 'overlay2 on btrfs needs kernel 4.7 or later';
  if (kernel >= 4 && KNOWN_GOOD.has(fs)) return null;
  return cachedTestMount(root, fs);
}

/** Whether /proc/filesystems lists overlay, loading the module first when it does not. */
async function overlayInKernel(): Promise<boolean> {
  const listed = async () => /\toverlay$/m.test(await readFile('/proc/filesystems', 'utf8').catch(() => ''));
  if (await listed()) return true;
  await runChecked('modprobe', ['overlay']).catch(() => undefined);
  return listed();
}

/** The running kernel as major + minor / 100 (4.7 → 4.07), from os.release(). */
function kernelVersion(): number {
  const m = /^(\d+)\.(\d+)/.exec(release());
  return m ? Number(m[1]) + Number(m[2]) / 100 : 0;
}

/** A real test mount, whose success is remembered per kernel and backing filesystem (all it depends on). */
async function cachedTestMount(root: string, fs: string): Promise<string | null> {
  const stamp = `${release()} ${fs}\n`;
  const cache = join(root, '.probe-ok');
  if ((await readFile(cache, 'utf8').catch(() => '')) === stamp) return null;
  const reason = await probeIn(root);
  if (!reason) await writeFile(cache, stamp).catch(() => undefined);
  return reason;
}

async function probeIn(root: string): Promise<string | null> {
  const td = await mkdtemp(join(root, 'overlay-probe-'));
  try {
    await Promise.all(['lower1', 'lower2', 'upper', 'work', 'merged'].map((d) => mkdir(join(td, d))));
    const opts = `lowerdir=${join(td, 'lower2')}:${join(td, 'lower1')},upperdir=${join(td, 'upper')},workdir=${join(td, 'work')}`;
    try {
      await testMount(opts, join(td, 'merged'));
    } catch (err) {
      return `failed to mount overlay in ${root}: ${(err as Error).message}`;
    }
    return null;
  } catch (err) {
    return `overlay probe failed in ${root}: ${(err as Error).message}`;
  } finally {
    await rm(td, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Mounts the test overlay inside a private mount namespace of its own, so the
 * mount vanishes with the `unshare` process: one process instead of mount +
 * umount, and no umount(2), which waits for an RCU grace period (10–200 ms
 * measured here) on every cold start. Without unshare, mount then unmount.
 */
async function testMount(opts: string, target: string): Promise<void> {
  try {
    await runChecked('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'overlay', 'overlay', '-o', opts, target]);
  } catch (err) {
    if (!(err instanceof CommandMissingError)) throw err;
    await runChecked('mount', ['-t', 'overlay', 'overlay', '-o', opts, target]);
    await unmount(target);
  }
}

/** Reads the host facts once per driver instance. */
export async function inspectHost(root: string): Promise<OverlayHost> {
  // Read side by side: the graph driver's activation is the head of the plugins' start-up chain.
  const [index, backingFs, metacopy] = await Promise.all([kernelParam('index'), backingFsName(root), kernelParam('metacopy')]);
  return {
    backingFs,
    extraOptions: index === null ? '' : 'index=off,',
    usingMetacopy: metacopy === 'Y',
  };
}

/** /sys/module/overlay/parameters/<name>, or null when the kernel has no such knob. */
export async function kernelParam(name: string): Promise<string | null> {
  try {
    return (await readFile(`/sys/module/overlay/parameters/${name}`, 'utf8')).trim();
  } catch {
    return null;
  }
}

/**
 * Null when the upper dir alone is a faithful diff, else why not (dockerd's
 * doesSupportNativeDiff). It is not when: the xattr tools are missing (opaque
 * dirs could not be seen or written), metacopy is on (uppers hold metadata-only
 * copies), the kernel copies the opaque flag up with a directory (pre-4.8),
 * or redirect_dir is on (a renamed directory is recorded as a redirect xattr,
 * which tars cannot express). Then diffs go through mounted trees instead.
 */
export async function nativeDiffUnsupported(root: string, host: OverlayHost): Promise<string | null> {
  if (!(await xattrToolsAvailable())) return 'getfattr/setfattr not found (install the Debian package "attr")';
  if (host.usingMetacopy) return 'kernel has overlay metacopy enabled';
  const td = await mkdtemp(join(root, 'opaque-bug-check-'));
  const merged = join(td, 'merged');
  let mounted = false;
  try {
    for (const d of ['l1/d', 'l1/d1', 'l2/d', 'l3', 'work', 'merged']) await mkdir(join(td, d), { recursive: true });
    const set = await writeXattrs([{ path: join(td, 'l2/d'), name: OVERLAY_OPAQUE_XATTR, value: Buffer.from('y') }]);
    if (!set.ok) return `failed to set opaque flag on middle layer: ${set.errors}`;
    const opts = `${host.extraOptions}lowerdir=${join(td, 'l2')}:${join(td, 'l1')},upperdir=${join(td, 'l3')},workdir=${join(td, 'work')}`;
    await runChecked('mount', ['-t', 'overlay', 'overlay', '-o', opts, merged]);
    mounted = true;
    await writeFile(join(merged, 'd/f'), '');
    if ((await readXattrs(join(td, 'l3/d'))).get(OVERLAY_OPAQUE_XATTR)?.toString() === 'y') {
      return 'opaque flag erroneously copied up, consider update to kernel 4.8 or later to fix';
    }
    try {
      await rename(join(merged, 'd1'), join(merged, 'd2'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return null; // no redirect_dir: renames of lower dirs are refused
      throw err;
    }
    if ((await readXattrs(join(td, 'l3/d2'))).has('trusted.overlay.redirect')) return 'kernel has CONFIG_OVERLAY_FS_REDIRECT_DIR enabled';
    return null;
  } catch (err) {
    return `native diff check failed: ${(err as Error).message}`;
  } finally {
    if (mounted) await unmount(merged).catch(() => undefined);
    await rm(td, { recursive: true, force: true }).catch(() => undefined);
  }
}
