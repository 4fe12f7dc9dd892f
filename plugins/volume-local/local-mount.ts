import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { SystemError } from '../../kernel/index.js';
import type { MountOptions } from './local-options.js';

/**
 * Mounting for local volumes with options (`-o type=tmpfs -o device=tmpfs
 * -o o=size=1m`, nfs, a bind of `device` with `o=bind` …). mount(8) does what
 * moby/sys/mount does for dockerd: it splits `o` into flags (bind, ro, …) and
 * data, and runs a filesystem's mount helper when one is needed (nfs, cifs).
 */
export async function mountVolume(m: MountOptions, target: string): Promise<void> {
  if (m.MountDevice === '') throw new SystemError('failed to mount local volume: missing device in volume options');
  const args = ['-t', m.MountType || 'none'];
  if (m.MountOpts) args.push('-o', m.MountOpts);
  args.push(m.MountDevice, target);
  try {
    await run('mount', args);
  } catch (err) {
    throw new SystemError(`failed to mount local volume: ${hidePassword((err as Error).message, m.MountOpts)}`);
  }
}

/** Unmounts; an error only counts when the path is still a mount point afterwards (dockerd's unmount). */
export async function unmountVolume(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch (err) {
    if (await isMountPoint(target)) throw new SystemError(`failed to unmount local volume ${target}: ${(err as Error).message}`);
  }
}

/** Whether `path` is a mount point now (restoreIfMounted after a daemon restart). */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => unescapeMountPath(line.split(' ')[4] ?? '') === path);
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** dockerd masks a cifs `password=` in mount errors. */
function hidePassword(msg: string, opts: string): string {
  const pw = opts.split(',').find((o) => o.startsWith('password='))?.slice('password='.length);
  return pw ? msg.split(`password=${pw}`).join('password=********') : msg;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(stderr.trim() || err.message));
      else resolve();
    });
  });
}
