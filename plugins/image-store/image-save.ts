import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { InvalidParameterError, NotFoundError, SystemError, type Logger } from '../../kernel/index.js';
import type { CoreImage, ImageCore } from './image-core.js';
import { hexOf, sha256 } from './digest.js';
import { goJson, rfc3339ToNs } from './go-format.js';
import { sortKeys } from './image-config.js';
import { referenceDoesNotExist } from './reference-store.js';
import { familiarName, familiarString, isNamed, parseAnyReference, refString, tagNameOnly, type Reference } from './reference.js';

/**
 * `docker save` as a graphdriver-store dockerd ≥ 25 writes it
 * (image/tarexport/save.go): an OCI image layout (oci-layout, index.json,
 * blobs/sha256/…) that is also a docker-archive (manifest.json,
 * repositories). Config blobs are the stored bytes; layer blobs are the
 * layers' original tars, reassembled from tar-split, so their digests are
 * the diff IDs and `docker load` gives back the same image IDs.
 *
 * Names are resolved and every layer's size computed before the stream is
 * returned, so a bad name is an HTTP error, not a broken archive.
 */
const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MT_INDEX = 'application/vnd.oci.image.index.v1+json';
const MT_LAYER = 'application/vnd.oci.image.layer.v1.tar';

interface Selected {
  img: CoreImage;
  refs: Reference[];
}

type Blob = { name: string; mtime: Date } & ({ data: Buffer } | { chainId: string; size: number });

export async function saveImages(core: ImageCore, names: string[]): Promise<Readable> {
  const selected = selectImages(core, names);
  const held: string[] = [];
  for (const { img } of selected.values()) {
    const top = img.chain[img.chain.length - 1];
    if (top === undefined) throw new SystemError('empty export - not implemented');
    if (!core.layers.acquire(top)) throw new SystemError(`layer ${top} of image ${img.id} is missing`);
    held.push(top);
  }
  const releaseAll = async () => { for (const c of held.splice(0)) await core.layers.release(c); };
  try {
    const plan = await planArchive(core, [...selected.values()]);
    for (const { img } of selected.values()) core.emit('save', img.id, img.id);
    const out = new PassThrough();
    void writeArchive(core, plan, out, core.opts.log).finally(releaseAll);
    return out;
  } catch (err) {
    await releaseAll();
    throw err;
  }
}

/** tarexporter.parseNames: which images, with which of their tags. */
function selectImages(core: ImageCore, names: string[]): Map<string, Selected> {
  const out = new Map<string, Selected>();
  const add = (id: string, ref: Reference | null) => {
    const img = core.images.get(id);
    if (!img) throw new NotFoundError(`No such image: ${id}`);
    const sel = out.get(id) ?? { img, refs: [] };
    out.set(id, sel);
    if (ref && ref.digest === undefined) {
      const tagged = tagNameOnly(ref);
      if (!sel.refs.some((r) => refString(r) === refString(tagged))) sel.refs.push(tagged);
    }
  };
  const search = (name: string) => {
    const id = core.search(name);
    if (!id) throw new NotFoundError(`No such image: ${name}`);
    return id;
  };
  for (const name of names) {
    const ref = parseAnyReference(name);
    if (!isNamed(ref)) { add(ref.id, null); continue; }
    if (familiarName(ref) === 'sha256') { add(search(name), null); continue; }
    if (ref.tag === undefined && ref.digest === undefined) {
      const assocs = core.refs.byName(ref);
      for (const a of assocs) add(a.id, a.ref);
      if (assocs.length === 0) add(search(name), null);
      continue;
    }
    const id = core.refs.get(ref);
    if (id === undefined) throw referenceDoesNotExist();
    add(id, ref);
  }
  if (out.size === 0) throw new InvalidParameterError('no images to save');
  return out;
}

interface Plan {
  blobs: Blob[];
  files: Array<{ name: string; data: Buffer }>;
}

async function planArchive(core: ImageCore, selected: Selected[]): Promise<Plan> {
  const blobs = new Map<string, Blob>();
  const manifest: Array<Record<string, unknown>> = [];
  const index: Array<Record<string, unknown>> = [];
  const repos: Record<string, Record<string, string>> = {};
  const epoch = new Date(0);
  for (const { img, refs } of selected) {
    const created = rfc3339ToNs(img.config.created);
    const ts = created === undefined ? epoch : new Date(Number(created / 1_000_000n));
    blobs.set(hexOf(img.id), { name: hexOf(img.id), mtime: ts, data: img.raw });
    const layers: Array<{ digest: string; size: number }> = [];
    for (const chainId of img.chain) {
      const l = core.layers.get(chainId)!;
      let blob = blobs.get(hexOf(l.diffId));
      if (!blob) {
        blob = { name: hexOf(l.diffId), mtime: ts, chainId, size: await core.layers.tarSize(chainId) };
        blobs.set(blob.name, blob);
      }
      layers.push({ digest: l.diffId, size: 'size' in blob ? blob.size : 0 });
    }
    const ociManifest = Buffer.from(goJson({
      schemaVersion: 2,
      mediaType: MT_MANIFEST,
      config: { mediaType: MT_CONFIG, digest: img.id, size: img.raw.length },
      layers: layers.map((l) => ({ mediaType: MT_LAYER, digest: l.digest, size: l.size })),
    }));
    const manifestDigest = sha256(ociManifest);
    blobs.set(hexOf(manifestDigest), { name: hexOf(manifestDigest), mtime: epoch, data: ociManifest });
    const desc = { mediaType: MT_MANIFEST, digest: manifestDigest, size: ociManifest.length };
    for (const ref of refs) {
      (repos[familiarName(ref)] ??= {})[ref.tag!] = hexOf(layers[layers.length - 1]!.digest);
      index.push({ ...desc, annotations: { 'io.containerd.image.name': refString(ref), 'org.opencontainers.image.ref.name': ref.tag } });
    }
    if (refs.length === 0) index.push(desc);
    const entry: Record<string, unknown> = {
      Config: `blobs/sha256/${hexOf(img.id)}`,
      RepoTags: refs.length > 0 ? refs.map(familiarString) : null,
      Layers: layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
    };
    if (img.parent && selected.some((s) => s.img.id === img.parent)) entry.Parent = img.parent;
    entry.LayerSources = sortKeys(Object.fromEntries(layers.map((l) => [l.digest, { mediaType: MT_LAYER, digest: l.digest, size: l.size }])));
    manifest.push(entry);
  }
  const files: Plan['files'] = [
    { name: 'index.json', data: Buffer.from(goJson({ schemaVersion: 2, mediaType: MT_INDEX, manifests: index })) },
    { name: 'manifest.json', data: Buffer.from(goJson(manifest) + '\n') },
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion": "1.0.0"}') },
  ];
  if (Object.keys(repos).length > 0) {
    const sorted = sortKeys(Object.fromEntries(Object.entries(repos).map(([k, v]) => [k, sortKeys(v)])));
    files.push({ name: 'repositories', data: Buffer.from(goJson(sorted) + '\n') });
  }
  return { blobs: [...blobs.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), files };
}

/** Streams the planned archive; a failure (or a client gone) destroys `out`. */
async function writeArchive(core: ImageCore, plan: Plan, out: PassThrough, log: Logger): Promise<void> {
  const pack = tar.pack();
  pack.on('data', (chunk: unknown) => { if (!out.destroyed && !out.write(chunk as Buffer)) pack.pause(); });
  out.on('drain', () => pack.resume());
  pack.on('end', () => out.end());
  pack.on('error', (err: Error) => out.destroy(err));
  const epoch = new Date(0);
  const put = (header: tar.Header | { name: string; size?: number; mtime?: Date; mode?: number; type?: 'directory' | 'file' }, data?: Buffer) =>
    new Promise<void>((resolve, reject) => { pack.entry(header as tar.Header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())); });
  try {
    await put({ name: 'blobs', type: 'directory', mode: 0o755, mtime: epoch });
    await put({ name: 'blobs/sha256', type: 'directory', mode: 0o755, mtime: epoch });
    for (const blob of plan.blobs) {
      if (out.destroyed) return;
      const name = `blobs/sha256/${blob.name}`;
      if ('data' in blob) { await put({ name, mode: 0o644, mtime: blob.mtime, size: blob.data.length }, blob.data); continue; }
      const { stream, size } = await core.layers.tarStream(blob.chainId);
      if (size !== blob.size) { stream.destroy(); throw new SystemError(`layer ${blob.chainId} changed size while being saved`); }
      const done = new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ name, mode: 0o644, mtime: blob.mtime, size }, (err) => (err ? reject(err) : resolve()));
        void (async () => {
          try {
            for await (const chunk of stream) {
              if (out.destroyed) throw new Error('client went away');
              if (!sink.write(chunk as Buffer)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
            }
            (sink as unknown as { end(): void }).end();
          } catch (err) {
            sink.destroy(err as Error);
            reject(err);
          }
        })();
      });
      await done;
    }
    for (const f of plan.files) await put({ name: f.name, mode: 0o644, mtime: epoch, size: f.data.length }, f.data);
    pack.finalize();
  } catch (err) {
    if (out.destroyed) log.debug('docker save: the client went away', { error: err });
    else log.error('docker save failed while streaming', { error: err });
    pack.destroy(err as Error);
    out.destroy(err as Error);
  }
}
