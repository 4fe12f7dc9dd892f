import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Images kept by another storage driver. dockerd keeps one image store per
 * graph driver (`<data-root>/image/<driver>/`), so after a change of
 * `storage-driver` the images of the old one silently vanish from view.
 * Berth reads the other stores' metadata (no driver needed: the imagedb
 * file names and repositories.json) to say which images stay behind.
 */
export interface StrandedImage {
  id: string;
  /** Familiar references ("busybox:latest", "x@sha256:…"), sorted. */
  refs: string[];
}

export interface OtherDriverStore {
  driver: string;
  /** Images of that store the current one does not have. */
  images: StrandedImage[];
}

/** Every other driver's store under `<data-root>/image` with images `has` does not know. */
export async function imagesUnderOtherDrivers(dataRoot: string, current: string, has: (id: string) => boolean): Promise<OtherDriverStore[]> {
  const imageRoot = join(dataRoot, 'image');
  const out: OtherDriverStore[] = [];
  const drivers = (await readdir(imageRoot, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && e.name !== current);
  for (const d of drivers.map((e) => e.name).sort()) {
    const root = join(imageRoot, d);
    const ids = (await readdir(join(root, 'imagedb', 'content', 'sha256')).catch(() => [] as string[]))
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`);
    const refs = await refsById(join(root, 'repositories.json'));
    const images = ids.filter((id) => !has(id)).sort().map((id) => ({ id, refs: (refs.get(id) ?? []).sort() }));
    if (images.length) out.push({ driver: d, images });
  }
  return out;
}

async function refsById(path: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { Repositories?: Record<string, Record<string, string>> };
    for (const repo of Object.values(parsed.Repositories ?? {})) {
      for (const [ref, id] of Object.entries(repo)) (out.get(id) ?? out.set(id, []).get(id)!).push(ref);
    }
  } catch {
    // No or unreadable references: the images are still listed by ID.
  }
  return out;
}

/**
 * The warning `docker info` and the start-up log give, dockerd-style, naming
 * the images (a few, then a count) and the two ways to bring them over.
 */
export function strandedWarning(store: OtherDriverStore, current: string): string {
  const names = store.images.map((i) => i.refs[0] ?? i.id.slice(7, 19)).sort();
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
  const n = store.images.length;
  return `${n} ${n === 1 ? 'image stays' : 'images stay'} under the previous storage driver "${store.driver}" and are not available with "${current}" (${shown}): ` +
    `stop berthd and run 'berthd migrate-images --from ${store.driver} --to ${current}', ` +
    `or set "berth": {"plugins": {"image-store": {"migrate-on-start": true}}} in daemon.json`;
}
