import { existsSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveInRoot } from '../exec-libcontainer/rootfs-path.js';

/**
 * `-w` is created if missing, owned by the process user (moby
 * SetupWorkingDirectory). Done by the daemon before the process starts, so
 * every runtime sees the directory; symlinks resolve inside the rootfs.
 */
export async function ensureWorkingDir(rootfs: string, cwd: string, uid: number, gid: number): Promise<void> {
  if (!cwd || cwd === '/') return;
  const path = await resolveInRoot(rootfs, cwd);
  if (existsSync(path)) return;
  const parts = path.slice(rootfs.length).split('/').filter(Boolean);
  let cur = rootfs;
  for (const p of parts) {
    cur = join(cur, p);
    if (existsSync(cur)) continue;
    await mkdir(cur, { mode: 0o755 });
    await chown(cur, uid, gid).catch(() => undefined);
  }
}
