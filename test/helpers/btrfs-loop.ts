import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../plugins/graph-common/run-command.js';

export interface BtrfsLoop {
  /** Where the btrfs filesystem is mounted. */
  mnt: string;
  /** Unmounts, detaches the loop device and removes the image; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * A fresh btrfs filesystem for tests: a sparse file, mkfs.btrfs, a loop
 * device of our own (losetup --find --show, so its name is known and only
 * it is detached), mounted under a temp dir. Returns a skip reason instead
 * when the host cannot (no btrfs-progs, not root, no loop devices).
 */
export async function mountLoopBtrfs(sizeMb = 1024): Promise<BtrfsLoop | string> {
  if (process.getuid?.() !== 0) return 'btrfs tests need root (loop devices and mounts)';
  const dir = await mkdtemp(join(tmpdir(), 'berth-btrfs-'));
  const img = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  let loop = '';
  let mounted = false;
  const cleanup = async () => {
    if (mounted) {
      const r = await runCommand('umount', [mnt]);
      if (r.code !== 0) await runCommand('umount', ['-l', mnt]);
      mounted = false;
    }
    if (loop) { await runCommand('losetup', ['-d', loop]); loop = ''; }
    await rm(dir, { recursive: true, force: true });
  };
  const fail = async (why: string) => { await cleanup(); return why; };
  try {
    await mkdir(mnt);
    const t = await runCommand('truncate', ['-s', `${sizeMb}M`, img]);
    if (t.code !== 0) return await fail(`truncate: ${t.stderr}`);
    const mk = await runCommand('mkfs.btrfs', ['-q', img]).catch(() => null);
    if (!mk || mk.code !== 0) return await fail(`mkfs.btrfs unavailable or failed (install btrfs-progs): ${mk?.stderr ?? 'not found'}`);
    const ls = await runCommand('losetup', ['--find', '--show', img]);
    if (ls.code !== 0) return await fail(`losetup: ${ls.stderr}`);
    loop = ls.stdout.toString().trim();
    const m = await runCommand('mount', ['-t', 'btrfs', loop, mnt]);
    if (m.code !== 0) return await fail(`mount -t btrfs: ${m.stderr}`);
    mounted = true;
    return { mnt, cleanup };
  } catch (err) {
    return fail(`cannot make a btrfs filesystem: ${(err as Error).message}`);
  }
}
