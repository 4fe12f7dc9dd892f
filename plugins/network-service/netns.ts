import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../lib/run-command.js';

/**
 * Sandboxes are network namespaces pinned by a bind mount at
 * `<exec-root>/netns/<id>` (dockerd's /var/run/docker/netns layout):
 * `unshare --net=<file>` creates the namespace and bind-mounts it in one
 * exec. The container's runtime joins it through the OCI spec's namespace
 * path; the namespace (and every veth in it) goes away once the mount is
 * removed and the last process in it has exited.
 */

/** The empty file a namespace is bind-mounted on (made first, so a crash leaves something the next start can find). */
export async function netnsFile(dir: string, id: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, id);
  await writeFile(path, '');
  return path;
}

/** A new namespace on `path` (from netnsFile), loopback up, in one process. */
export async function createNetns(path: string): Promise<void> {
  await runCommand('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
}

export async function deleteNetns(path: string): Promise<void> {
  // MNT_DETACH: a runtime still setting up a container may hold the file open.
  await runCommand('umount', ['--lazy', path]).catch(() => undefined);
  await rm(path, { force: true });
}

/**
 * Namespace removals run behind the caller: an unmount waits for an RCU
 * grace period and costs a process, and nothing a container stop returns
 * depends on it (the sandbox's state is gone already). The daemon waits for
 * the pending ones at shutdown; one interrupted by a kill -9 is found by
 * `sweep` at the next start.
 */
export class NetnsReaper {
  private readonly pending = new Set<Promise<void>>();

  remove(path: string): void {
    const p: Promise<void> = deleteNetns(path).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async drain(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Removes every namespace file in `dir` that no sandbox holds (left by a crash). */
  async sweep(dir: string, keep: Set<string>): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => join(dir, n)).filter((p) => !keep.has(p)).map((p) => deleteNetns(p)));
  }
}
