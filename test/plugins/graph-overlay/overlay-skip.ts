import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeOverlay } from '../../../plugins/graph-overlay/overlay-probe.js';

/** Whether overlay works under the temp dir; overlay tests skip with this reason when not. */
export async function overlaySkipReason(): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-overlay-probe-'));
  try {
    return (await probeOverlay(join(dir, 'overlay2'))) ?? undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
