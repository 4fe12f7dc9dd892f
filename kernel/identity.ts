import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './fs/atomic.js';
import { randomUuid } from './random.js';

/** Who this daemon is: the `ID` of `docker info` and the Actor of `daemon` events. */
export interface DaemonIdentity {
  /** Stable across restarts: kept in `<data-root>/engine-id`, as dockerd does. */
  id: string;
  /** The host name (`docker info` Name, the `name` attribute of daemon events). */
  name: string;
}

export async function loadIdentity(dataRoot: string): Promise<DaemonIdentity> {
  const file = join(dataRoot, 'engine-id');
  let id = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!id) {
    id = await randomUuid();
    await writeFileAtomic(file, id, 0o600);
  }
  return { id, name: os.hostname() };
}
