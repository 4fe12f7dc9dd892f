import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's busybox-static: one static binary that is a whole userland. */
export const BUSYBOX_STATIC = '/bin/busybox';

/** Why the exec-driver suite cannot run here, or undefined when it can. */
export function busyboxMissing(): string | undefined {
  if (!existsSync(BUSYBOX_STATIC)) return 'busybox-static is not installed (scripts/os-packages.txt)';
  if (process.getuid?.() !== 0) return 'needs root';
  return undefined;
}

/**
 * Builds a root filesystem directory from the host's static busybox: the
 * binary, `busybox --install -s` run inside it (chroot, so the links point
 * at /bin/busybox as the container sees it), and an /etc with a `tester`
 * user (uid 1000, gid 1000, member of `testgrp` 1001) for user resolution.
 */
export function buildBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/tester']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX_STATIC, join(dir, 'bin/busybox'));
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\ntester:x:1000:\ntestgrp:x:1001:tester\nnogroup:x:65534:\n');
  return dir;
}
