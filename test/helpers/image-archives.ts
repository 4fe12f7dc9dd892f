import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { makeTar, type TarSpec } from '../conformance/tar-fixtures.js';

/**
 * Hand-made `docker load` archives for tests: a docker-archive
 * (manifest.json) or an OCI image layout (index.json), with a config JSON
 * written byte for byte, so the expected image ID is known in advance.
 */
export interface ArchiveImage {
  /** The exact config bytes; diff_ids must match `layers`. */
  config: string;
  layers: Buffer[];
  repoTags?: string[];
}

/** sha256 by the coreutils binary, independent of the code under test. */
export function sha256sum(data: string | Buffer): string {
  return 'sha256:' + execFileSync('sha256sum', { input: data }).toString().split(' ')[0];
}

export function nodeSha(data: string | Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** A config for `layers` (uncompressed tars) with a fixed creation time and the given extras. */
export function configFor(layers: Buffer[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: '2024-05-06T07:08:09.123456789Z',
    config: { Cmd: ['/bin/sh'], Labels: { fixture: 'yes' } },
    history: layers.map((_, i) => ({ created: '2024-05-06T07:08:09.123456789Z', created_by: `layer ${i}` })),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => nodeSha(l)) },
    ...extra,
  });
}

export async function dockerArchive(images: ArchiveImage[], extra: TarSpec[] = []): Promise<Buffer> {
  const entries: TarSpec[] = [];
  const manifest = images.map((img, n) => {
    const cfgName = `${nodeSha(img.config).slice(7)}.json`;
    entries.push({ name: cfgName, content: img.config });
    const layers = img.layers.map((l, i) => {
      const dir = `layer-${n}-${i}`;
      entries.push({ name: `${dir}/`, type: 'directory' }, { name: `${dir}/layer.tar`, content: l });
      return `${dir}/layer.tar`;
    });
    return { Config: cfgName, RepoTags: img.repoTags ?? null, Layers: layers };
  });
  entries.push({ name: 'manifest.json', content: JSON.stringify(manifest) }, ...extra);
  return makeTar(entries);
}

/** An OCI layout (no manifest.json) with gzip layers, names in `io.containerd.image.name`. */
export async function ociArchive(images: ArchiveImage[]): Promise<Buffer> {
  const blobs = new Map<string, Buffer>();
  const put = (data: Buffer) => { const d = nodeSha(data); blobs.set(d.slice(7), data); return { digest: d, size: data.length }; };
  const manifests: unknown[] = [];
  for (const img of images) {
    const config = put(Buffer.from(img.config));
    const layers = img.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(gzipSync(l)) }));
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers,
    }));
    const m = put(manifest);
    const names = img.repoTags ?? [];
    if (names.length === 0) manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m });
    for (const name of names) {
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() } });
    }
  }
  const entries: TarSpec[] = [
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }) },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[...blobs].map(([hex, data]) => ({ name: `blobs/sha256/${hex}`, content: data })),
  ];
  return makeTar(entries);
}

/** A small layer with one file. */
export function fileLayer(name: string, content: string): Promise<Buffer> {
  return makeTar([{ name, content, mtime: new Date('2024-01-01T00:00:00Z') }]);
}
