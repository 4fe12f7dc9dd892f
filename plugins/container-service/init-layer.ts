import { mkdir, writeFile, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ContainerRecord, GraphDriver, LayerEntry } from '../../kernel/index.js';

/** The layer a container's read-write layer sits on: the image's shared init layer, or (older records) its own. */
export function initLayerOf(c: Pick<ContainerRecord, 'Id' | 'InitLayer'>): string {
  return c.InitLayer ?? `${c.Id}-init`;
}

/**
 * The files dockerd puts in every container's init layer (daemon/initlayer):
 * mount points and placeholders the runtime binds over, so they exist even in
 * images that lack them, and the `/.dockerenv` marker tools look for.
 */
const DIRS = ['dev/pts', 'dev/shm', 'proc', 'sys', 'etc'];
const FILES = ['.dockerenv', 'dev/console', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'];

/** The same, as entries for GraphDriver.populate (directories first, as populateInitLayer creates them). */
export const INIT_ENTRIES: readonly LayerEntry[] = [
  ...DIRS.map((path) => ({ path, type: 'dir' as const, mode: 0o755 })),
  ...FILES.map((path) => ({ path, type: 'file' as const, mode: 0o755 })),
];

/**
 * Fills layer `id` (a fresh init layer) with the placeholders. A driver that
 * can write an unmounted layer does (overlay2: no mount, no unmount and its
 * sync on every create); otherwise the layer is mounted as dockerd does.
 */
export async function setupInitLayer(graph: GraphDriver, id: string): Promise<void> {
  if (graph.populate && (await graph.populate(id, INIT_ENTRIES))) return;
  const root = await graph.get(id);
  try {
    await populateInitLayer(root);
  } finally {
    await graph.put(id);
  }
}

export async function populateInitLayer(root: string): Promise<void> {
  for (const d of DIRS) {
    if (!(await exists(join(root, d)))) await mkdir(join(root, d), { recursive: true, mode: 0o755 });
  }
  for (const f of FILES) {
    const p = join(root, f);
    if (await exists(p)) continue;
    await mkdir(dirname(p), { recursive: true, mode: 0o755 });
    await writeFile(p, '', { mode: 0o755 });
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}
