import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { TaskStartError, type RunMount } from '../../kernel/index.js';
import { resolveInRoot } from '../exec-libcontainer/rootfs-path.js';

/**
 * runc looks the command up in the container before it starts it and fails
 * the start with `exec: "x": executable file not found in $PATH`, which
 * dockerd turns into exit code 127 (126 for "permission denied"). LXC only
 * fails inside its child, after the container was set up, so exec-lxc looks
 * the command up in the root filesystem first, the way runc does (PATH of the
 * process's environment). A command under a mount the container will get
 * (a bind, a volume) cannot be seen yet and is left for LXC to run.
 */
export async function checkCommand(rootfs: string, cmd: string, env: readonly string[], mounts: readonly Pick<RunMount, 'Destination'>[] = []): Promise<void> {
  if (!cmd) throw new TaskStartError('exec: "": executable file not found in $PATH', 127);
  const underMount = (p: string) => mounts.some((m) => p === m.Destination || p.startsWith(m.Destination.replace(/\/*$/, '/')));
  const candidates = cmd.includes('/')
    ? [posix.resolve('/', cmd)]
    : ([...env].reverse().find((e) => e.startsWith('PATH='))?.slice(5) ?? '').split(':').filter(Boolean).map((d) => posix.join(d, cmd));
  let denied = false;
  for (const c of candidates) {
    if (underMount(c)) return;
    const host = await resolveInRoot(rootfs, c).catch(() => undefined);
    if (!host) continue;
    const st = await stat(host).catch(() => undefined);
    if (!st || st.isDirectory()) continue;
    if (await access(host, constants.X_OK).then(() => true, () => false)) return;
    denied = true;
  }
  if (denied) throw new TaskStartError(`exec: "${cmd}": permission denied`, 126);
  if (cmd.includes('/')) throw new TaskStartError(`exec: "${cmd}": stat ${cmd}: no such file or directory`, 127);
  throw new TaskStartError(`exec: "${cmd}": executable file not found in $PATH`, 127);
}
