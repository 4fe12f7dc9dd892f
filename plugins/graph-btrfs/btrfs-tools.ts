/**
 * The btrfs operations the driver needs, through btrfs-progs (Node has no
 * ioctl binding): subvolume create/snapshot/delete, quota and qgroups. Each
 * call is one atomic kernel operation, which is what makes the driver's
 * layers crash-safe without metadata files of its own.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../graph-common/run-command.js';

/** Inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
const SUBVOL_ROOT_INO = 256;

async function btrfs(args: string[], what: string): Promise<CommandResult> {
  const r = await runCommand('btrfs', args);
  if (r.code !== 0) throw new Error(`${what}: ${r.stderr.replace(/^ERROR: /, '') || `btrfs exited with status ${r.code}`}`);
  return r;
}

export async function subvolCreate(path: string): Promise<void> {
  await btrfs(['subvolume', 'create', path], 'Failed to create btrfs subvolume');
}

/** A writable snapshot of `src` at `dest` (dockerd snapshots every layer read-write). */
export async function subvolSnapshot(src: string, dest: string): Promise<void> {
  await btrfs(['subvolume', 'snapshot', src, dest], 'Failed to create btrfs snapshot');
}

export async function isSubvolume(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  return st !== null && st.isDirectory() && st.ino === SUBVOL_ROOT_INO;
}

/** The subvolume's id, which is also its level-0 qgroup id ("0/<id>"). */
export async function subvolId(path: string): Promise<string> {
  return (await btrfs(['inspect-internal', 'rootid', path], `Failed to lookup qgroup for ${path}`)).stdout.toString().trim();
}

/**
 * Deletes a subvolume and, first, any subvolume nested in it (a container
 * may create some: snapshots cannot hold them, so they would block the
 * delete). The walk happens only when the plain delete is refused.
 */
export async function subvolDelete(path: string): Promise<void> {
  const first = await runCommand('btrfs', ['subvolume', 'delete', path]);
  if (first.code === 0) return;
  for (const nested of await nestedSubvolumes(path)) await subvolDelete(nested);
  await btrfs(['subvolume', 'delete', path], `Failed to destroy btrfs snapshot ${path}`);
}

async function nestedSubvolumes(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (await isSubvolume(p)) out.push(p);
    else out.push(...(await nestedSubvolumes(p)));
  }
  return out;
}

/** Whether quotas are on for the filesystem holding `path` (qgroup show fails otherwise). */
export async function quotaEnabled(path: string): Promise<boolean> {
  return (await runCommand('btrfs', ['qgroup', 'show', path])).code === 0;
}

export async function quotaEnable(path: string): Promise<void> {
  await btrfs(['quota', 'enable', path], `Failed to enable btrfs quota for ${path}`);
}

export async function quotaRescan(path: string): Promise<void> {
  await btrfs(['quota', 'rescan', '-w', path], `Failed to rescan btrfs quota for ${path}`);
}

/** Limits the referenced bytes of the subvolume at `path` (its level-0 qgroup). */
export async function qgroupLimit(path: string, bytes: number): Promise<void> {
  await btrfs(['qgroup', 'limit', String(bytes), path], `Failed to limit qgroup for ${path}`);
}

export async function qgroupDestroy(qgroup: string, path: string): Promise<void> {
  await btrfs(['qgroup', 'destroy', qgroup, path], `Failed to delete btrfs qgroup ${qgroup} for ${path}`);
}

/** "Btrfs v6.2", as dockerd's BTRFS_BUILD_VERSION; null when the tool cannot tell. */
export async function buildVersion(): Promise<string | null> {
  const r = await runCommand('btrfs', ['--version']).catch(() => null);
  const m = r && /v(\d[\w.-]*)/.exec(r.stdout.toString());
  return m ? `Btrfs v${m[1]}` : null;
}
