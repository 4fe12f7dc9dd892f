import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BerthdProcess } from '../../helpers/berthd-process.js';
import { busyboxRootfsTar } from '../../helpers/busybox-rootfs.js';

/**
 * Imports the busybox root filesystem as an image with the real CLI
 * (`docker import -c 'CMD ["sh"]' - <tag>`): the image every container
 * end-to-end test runs, since no registry is reachable. The tar goes in as
 * bytes, which the shared `docker()` helper does not take.
 */
export async function importBusybox(d: BerthdProcess, tag = 'bbox:1'): Promise<void> {
  const rootfs = await busyboxRootfsTar();
  try {
    const r = spawnSync('docker', ['import', '-c', 'CMD ["sh"]', '-', tag], {
      env: { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') },
      input: readFileSync(rootfs.tar),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`docker import failed (${r.status}): ${r.stderr}`);
  } finally {
    await rootfs.cleanup();
  }
}
