import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's busybox-static puts the binary. */
export const BUSYBOX = '/bin/busybox';
export const busyboxAvailable = existsSync(BUSYBOX);

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'true', 'false', 'sleep', 'id', 'env', 'hostname', 'touch', 'rm', 'mkdir', 'pwd'];

/**
 * Writes a tar of a minimal busybox root filesystem (the binary, applet
 * symlinks, /etc/passwd and /etc/group) — the test image every end-to-end
 * test imports, since no registry is reachable.
 */
export async function busyboxRootfsTar(): Promise<{ tar: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-busybox-'));
  const root = join(dir, 'rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'tmp'), { mode: 0o1777 });
  await copyFile(BUSYBOX, join(root, 'bin', 'busybox'));
  execFileSync('chmod', ['0755', join(root, 'bin', 'busybox')]);
  for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tar = join(dir, 'busybox.tar');
  execFileSync('tar', ['-C', root, '--numeric-owner', '-cf', tar, '.']);
  return { tar, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
