import { mkdir, rm, writeFile } from 'node:fs/promises';
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
export async function createNetns(dir: string, id: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, id);
  await writeFile(path, '');
  try {
    await runCommand('unshare', [`--net=${path}`, 'true']);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return path;
}

export async function deleteNetns(path: string): Promise<void> {
  // MNT_DETACH: a runtime still setting up a container may hold the file open.
  await runCommand('umount', ['--lazy', path]).catch(() => undefined);
  await rm(path, { force: true });
}
