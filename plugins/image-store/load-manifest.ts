import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InvalidParameterError } from '../../kernel/index.js';
import type { ExtractedArchive } from './archive-extract.js';
import { hostPlatform } from './platform.js';
import { digestError, parseNormalizedNamed, refString } from './reference.js';

/**
 * What `docker load` finds in an archive, in either of the layouts modern
 * tools write:
 * - docker-archive: `manifest.json` = [{Config, RepoTags, Layers, Parent?}]
 *   (dockerd's own `docker save`, every engine version);
 * - OCI image layout: `index.json` → manifests (or nested indexes) → config
 *   and layer blobs under `blobs/<alg>/<hex>` (buildx, skopeo, containerd).
 *   Names come from the `io.containerd.image.name` annotation, or from
 *   `org.opencontainers.image.ref.name` when it is a full reference.
 * A docker-archive manifest wins when both are present, as in dockerd.
 */
export interface LoadItem {
  config: Buffer;
  repoTags: string[];
  layers: Array<{ path: string; blobDigest?: string }>;
  parent?: string;
}

const MAX_JSON = 8 << 20;
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export async function readLoadManifest(archive: ExtractedArchive): Promise<LoadItem[]> {
  if (await archive.has('manifest.json')) return dockerArchive(archive);
  if (await archive.has('index.json')) return ociLayout(archive);
  throw new InvalidParameterError('invalid archive: does not contain a manifest.json or an OCI index.json');
}

async function dockerArchive(archive: ExtractedArchive): Promise<LoadItem[]> {
  const manifest = await readJson(archive, 'manifest.json');
  if (manifest === null) throw new InvalidParameterError('invalid manifest, manifest cannot be null (but can be [])');
  if (!Array.isArray(manifest)) throw new InvalidParameterError('invalid manifest.json: not a list');
  const items: LoadItem[] = [];
  for (const m of manifest as Array<Record<string, unknown>>) {
    if (typeof m?.Config !== 'string') throw new InvalidParameterError('invalid manifest.json: an entry has no Config');
    const layers = m.Layers ?? [];
    const tags = m.RepoTags ?? [];
    if (!Array.isArray(layers) || !layers.every((l) => typeof l === 'string')) throw new InvalidParameterError('invalid manifest.json: Layers must be a list of paths');
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw new InvalidParameterError('invalid manifest.json: RepoTags must be a list of names');
    items.push({
      config: await readFile(await archive.resolve(m.Config)),
      repoTags: tags as string[],
      layers: await Promise.all((layers as string[]).map(async (l) => ({ path: await archive.resolve(l) }))),
      parent: typeof m.Parent === 'string' && m.Parent ? m.Parent : undefined,
    });
  }
  return items;
}

async function ociLayout(archive: ExtractedArchive): Promise<LoadItem[]> {
  const index = (await readJson(archive, 'index.json')) as { manifests?: Descriptor[] } | null;
  if (!index || !Array.isArray(index.manifests)) throw new InvalidParameterError('invalid OCI layout: index.json has no manifests');
  const groups = new Map<string, { desc: Descriptor; names: string[] }>();
  const walk = async (descs: Descriptor[], names: string[], depth: number): Promise<void> => {
    if (depth > 4) throw new InvalidParameterError('invalid OCI layout: indexes nested too deeply');
    for (const d of descs) {
      checkDescriptor(d);
      const own = [...names, ...namesOf(d)];
      const type = d.mediaType ?? '';
      if (INDEX_TYPES.has(type)) {
        const child = (await readBlobJson(archive, d)) as { manifests?: Descriptor[] };
        const chosen = choosePlatform(child.manifests ?? []);
        if (!chosen) throw new InvalidParameterError(`no image in ${d.digest} matches the platform ${hostPlatform().os}/${hostPlatform().architecture}`);
        await walk([chosen], own, depth + 1);
      } else if (MANIFEST_TYPES.has(type) || type === '') {
        const g = groups.get(d.digest) ?? { desc: d, names: [] };
        for (const n of own) if (!g.names.includes(n)) g.names.push(n);
        groups.set(d.digest, g);
      }
    }
  };
  await walk(index.manifests, [], 0);
  const items: LoadItem[] = [];
  for (const { desc, names } of groups.values()) {
    const manifest = (await readBlobJson(archive, desc)) as { config?: Descriptor; layers?: Descriptor[] };
    if (!manifest.config) throw new InvalidParameterError(`invalid OCI layout: manifest ${desc.digest} has no config`);
    checkDescriptor(manifest.config);
    const config = await readBlob(archive, manifest.config);
    const layers = manifest.layers ?? [];
    layers.forEach(checkDescriptor);
    items.push({
      config,
      repoTags: names,
      layers: await Promise.all(layers.map(async (l) => ({ path: await archive.resolve(blobPath(l.digest)), blobDigest: l.digest }))),
    });
  }
  return items;
}

/** Image names a descriptor carries, normalised (tags only; a bare `ref.name` tag is not a name). */
function namesOf(d: Descriptor): string[] {
  const a = d.annotations ?? {};
  for (const candidate of [a['io.containerd.image.name'], a['org.opencontainers.image.ref.name']]) {
    if (!candidate || !/[/:]/.test(candidate)) continue;
    try {
      const ref = parseNormalizedNamed(candidate);
      if (ref.tag !== undefined && ref.digest === undefined) return [refString(ref)];
    } catch {
      // not a reference: a plain tag name
    }
  }
  return [];
}

/** The host's entry of an index (attestations skipped), preferring an exact variant. */
function choosePlatform(descs: Descriptor[]): Descriptor | undefined {
  const host = hostPlatform();
  const images = descs.filter((d) => d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const fits = images.filter((d) => !d.platform || ((d.platform.os ?? 'linux') === host.os && d.platform.architecture === host.architecture));
  return fits.find((d) => (d.platform?.variant ?? '') === (host.variant ?? '')) ?? fits[0] ?? (images.length === 1 && !images[0]!.platform ? images[0] : undefined);
}

function checkDescriptor(d: Descriptor): void {
  if (!d || typeof d.digest !== 'string' || digestError(d.digest) !== null) {
    throw new InvalidParameterError(`invalid OCI layout: bad descriptor digest ${JSON.stringify(d?.digest)}`);
  }
}

function blobPath(digest: string): string {
  const [alg, hex] = digest.split(':');
  return `blobs/${alg}/${hex}`;
}

async function readBlob(archive: ExtractedArchive, d: Descriptor): Promise<Buffer> {
  const path = await archive.resolve(blobPath(d.digest));
  if ((await stat(path)).size > MAX_JSON) throw new InvalidParameterError(`invalid OCI layout: blob ${d.digest} is too large`);
  const data = await readFile(path);
  const [alg] = d.digest.split(':');
  if (`${alg}:${createHash(alg!).update(data).digest('hex')}` !== d.digest) {
    throw new InvalidParameterError(`invalid OCI layout: blob ${d.digest} does not match its digest`);
  }
  return data;
}

async function readBlobJson(archive: ExtractedArchive, d: Descriptor): Promise<unknown> {
  return parseJson(await readBlob(archive, d), d.digest);
}

async function readJson(archive: ExtractedArchive, name: string): Promise<unknown> {
  const path = await archive.resolve(name);
  if ((await stat(path)).size > MAX_JSON) throw new InvalidParameterError(`invalid archive: ${name} is too large`);
  return parseJson(await readFile(path), name);
}

function parseJson(data: Buffer, what: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new InvalidParameterError(`invalid archive: ${what}: ${(err as Error).message}`);
  }
}

/** Checks a layer blob against its descriptor digest before it is unpacked. */
export async function verifyBlob(path: string, digest: string): Promise<void> {
  const [alg] = digest.split(':');
  const hash = createHash(alg!);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  if (`${alg}:${hash.digest('hex')}` !== digest) throw new InvalidParameterError(`invalid OCI layout: layer blob ${digest} does not match its digest`);
}
