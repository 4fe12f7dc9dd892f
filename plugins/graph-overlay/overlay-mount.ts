import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MNT_DETACH, MountSyscallError, mountHelper } from '../graph-common/mount-helper.js';
import { runCommand, runChecked } from '../graph-common/run-command.js';
import { MOUNT_DATA_LIMIT } from './overlay-layout.js';

export interface OverlayMountSpec {
  root: string;
  id: string;
  /** `l/<LINK>` entries, nearest parent first. */
  lowers: string[];
  /** Prefix such as "index=off," when the kernel knows the option. */
  extraOptions: string;
  mountLabel?: string;
}

/**
 * Mounts `<root>/<id>/merged`. Absolute paths are used when the option data
 * fits in a page; otherwise (deep chains) the paths are given relative to the
 * root and `mount` runs with root as its working directory — dockerd forks a
 * helper that chdirs for the same reason (mountFrom), Node cannot chdir for
 * one call. Uses util-linux `mount`, since Node has no mount(2).
 */
export async function mountOverlay(spec: OverlayMountSpec): Promise<void> {
  const { root, id } = spec;
  const label = spec.mountLabel ? `,context="${spec.mountLabel}"` : '';
  const absolute = `${spec.extraOptions}lowerdir=${spec.lowers.map((l) => join(root, l)).join(':')},upperdir=${join(root, id, 'diff')},workdir=${join(root, id, 'work')}${label}`;
  // Commas and colons separate overlay options and lowers: a root containing them can only be used relatively.
  // mount(2) straight from the helper, except with an SELinux label (util-linux's quoting rules apply to it).
  const direct = !spec.mountLabel && mountHelper.available();
  if (absolute.length <= MOUNT_DATA_LIMIT && !/[,:]/.test(root)) {
    if (direct) await mountHelper.mount('overlay', join(root, id, 'merged'), 'overlay', 0, absolute);
    else await runChecked('mount', ['-t', 'overlay', 'overlay', '-o', absolute, join(root, id, 'merged')]);
    return;
  }
  const relative = relativeMountData(spec);
  if (relative.length > MOUNT_DATA_LIMIT) throw new Error(`cannot mount layer, mount label too large ${relative.length}`);
  if (direct) await mountHelper.mount('overlay', `${id}/merged`, 'overlay', 0, relative, root);
  else await runChecked('mount', ['-t', 'overlay', 'overlay', '-o', relative, `${id}/merged`], { cwd: root });
}

/** The option data of the relative form: what `create` checks against the page limit. */
export function relativeMountData(spec: Omit<OverlayMountSpec, 'root'>): string {
  const label = spec.mountLabel ? `,context="${spec.mountLabel}"` : '';
  return `${spec.extraOptions}lowerdir=${spec.lowers.join(':')},upperdir=${spec.id}/diff,workdir=${spec.id}/work${label}`;
}

/** Unmounts; a busy mount is detached lazily (MNT_DETACH, as dockerd's Put). "Not mounted" is fine. */
export async function unmount(path: string): Promise<void> {
  if (mountHelper.available()) {
    // EINVAL: not a mount point; ENOENT: no such path. Anything else (EBUSY): detached lazily.
    const notMounted = (err: unknown) => err instanceof MountSyscallError && (err.code === 'EINVAL' || err.code === 'ENOENT');
    try {
      await mountHelper.umount(path);
      return;
    } catch (err) {
      if (notMounted(err)) return;
      if (!(err instanceof MountSyscallError)) throw err;
    }
    try {
      await mountHelper.umount(path, MNT_DETACH);
    } catch (err) {
      if (!notMounted(err)) throw err;
    }
    return;
  }
  const r = await runCommand('umount', [path]);
  if (r.code === 0 || /not mounted|no mount point/i.test(r.stderr)) return;
  const lazy = await runCommand('umount', ['-l', path]);
  if (lazy.code !== 0 && !/not mounted|no mount point/i.test(lazy.stderr)) throw new Error(`umount ${path}: ${lazy.stderr || r.stderr}`);
}

/** Mount points from /proc/self/mountinfo (octal escapes such as \040 decoded). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).has(path);
}
