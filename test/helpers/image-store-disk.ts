import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What an image store holds on disk under a data root, read from the files
 * themselves (dockerd's layout, which berthd keeps):
 *
 *   image/<driver>/imagedb/content/sha256/<id>     image configs (rootfs.diff_ids)
 *   image/<driver>/layerdb/sha256/<chain>/         layer registrations (cache-id, parent)
 *   image/<driver>/layerdb/mounts/<container>/     a container's hold on a layer (parent)
 *   image/<driver>/repositories.json               tags → image IDs
 *   <driver>/…                                     the graph driver's layer dirs
 *
 * `expectedLayout` derives from the metadata what must exist (the layers of
 * every stored image and every container hold, and nothing else);
 * `actualLayout` lists what does exist. Equal layouts mean no orphaned and
 * no missing layer.
 */
export interface StoreLayout {
  /** Chain IDs (hex) under layerdb/sha256/. */
  layerdb: string[];
  /** Layer ids of the graph driver: vfs dir/<id>, overlay2 <id>/. */
  driverLayers: string[];
  /** The driver's index of its layers: vfs meta/<id>.json, overlay2 l/<link> (as "<link> -> <id>"). */
  driverIndex: string[];
  /** Leftovers in the store's scratch dirs (layerdb/tmp, image/<driver>/tmp): must be empty after a start. */
  scratch: string[];
}

export function imageRoot(dataRoot: string, driver: string): string {
  return join(dataRoot, 'image', driver);
}

const ls = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** sha256 of a string, as `sha256:<hex>`. */
function sha(s: string): string {
  return 'sha256:' + createHash('sha256').update(s).digest('hex');
}

/** identity.ChainIDs: chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " + diff[n]). */
export function chainIdsOf(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha(`${out[out.length - 1]} ${d}`));
  return out;
}

/** Image IDs stored in the imagedb, with the diff IDs their configs name. */
export function storedImages(dataRoot: string, driver: string): Map<string, string[]> {
  const dir = join(imageRoot(dataRoot, driver), 'imagedb', 'content', 'sha256');
  const out = new Map<string, string[]>();
  for (const hex of ls(dir)) {
    // A config is stored under its digest; anything else is an atomic write's temp file (a config being
    // written when the daemon was killed), not an image.
    if (!/^[a-f0-9]{64}$/.test(hex)) continue;
    const config = JSON.parse(readFileSync(join(dir, hex), 'utf8')) as { rootfs?: { diff_ids?: string[] } };
    out.set(`sha256:${hex}`, config.rootfs?.diff_ids ?? []);
  }
  return out;
}

/** Image IDs the reference store (repositories.json) points at. */
export function taggedImageIds(dataRoot: string, driver: string): string[] {
  const file = join(imageRoot(dataRoot, driver), 'repositories.json');
  if (!existsSync(file)) return [];
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { Repositories?: Record<string, Record<string, string>> };
  return [...new Set(Object.values(doc.Repositories ?? {}).flatMap((r) => Object.values(r)))].sort();
}

export function expectedLayout(dataRoot: string, driver: string): StoreLayout {
  const layerdb = join(imageRoot(dataRoot, driver), 'layerdb');
  const chains = new Set<string>();
  for (const diffIds of storedImages(dataRoot, driver).values()) for (const c of chainIdsOf(diffIds)) chains.add(c.slice(7));
  const containerLayers: string[] = [];
  for (const container of ls(join(layerdb, 'mounts'))) {
    // A holder keeps its image's top layer (and so its parents), plus its own layers.
    let chain = readFileSync(join(layerdb, 'mounts', container, 'parent'), 'utf8').trim();
    while (chain) {
      chains.add(chain.slice(7));
      const parentFile = join(layerdb, 'sha256', chain.slice(7), 'parent');
      chain = existsSync(parentFile) ? readFileSync(parentFile, 'utf8').trim() : '';
    }
    // A shared init layer (`<image layer>-init`) holds for the containers on it; a container that holds for itself has a private `-init`.
    if (container.endsWith('-init')) containerLayers.push(container);
    else containerLayers.push(container, `${container}-init`);
  }
  const cacheIds = [...chains].map((hex) => {
    const file = join(layerdb, 'sha256', hex, 'cache-id');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : `<layer ${hex} has no cache-id>`;
  });
  const driverLayers = [...cacheIds, ...containerLayers].sort();
  const driverIndex = driver === 'vfs'
    ? driverLayers.map((id) => `${id}.json`).sort()
    : driverLayers.map((id) => {
      const linkFile = join(dataRoot, driver, id, 'link');
      return `${existsSync(linkFile) ? readFileSync(linkFile, 'utf8').trim() : '<no link file>'} -> ${id}`;
    }).sort();
  return { layerdb: [...chains].sort(), driverLayers, driverIndex, scratch: [] };
}

export function actualLayout(dataRoot: string, driver: string): StoreLayout {
  const root = imageRoot(dataRoot, driver);
  const driverRoot = join(dataRoot, driver);
  let driverLayers: string[];
  let driverIndex: string[];
  if (driver === 'vfs') {
    driverLayers = ls(join(driverRoot, 'dir'));
    driverIndex = ls(join(driverRoot, 'meta'));
  } else if (driver === 'overlay2') {
    driverLayers = ls(driverRoot).filter((n) => n !== 'l' && !n.startsWith('.'));
    driverIndex = ls(join(driverRoot, 'l')).map((link) => {
      const target = readlinkSync(join(driverRoot, 'l', link)); // ../<id>/diff
      return `${link} -> ${/^\.\.\/([^/]+)\/diff$/.exec(target)?.[1] ?? `<bad target ${target}>`}`;
    }).sort();
  } else {
    throw new Error(`no layout known for driver ${driver}`);
  }
  const scratch = [
    ...ls(join(root, 'layerdb', 'tmp')).map((n) => `layerdb/tmp/${n}`),
    ...ls(join(root, 'tmp')).map((n) => `tmp/${n}`),
  ];
  return { layerdb: ls(join(root, 'layerdb', 'sha256')), driverLayers, driverIndex, scratch };
}

/** Mount points under `dir` (a crash must not leave an overlay mounted either). */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'));
}
