import { open, readlink } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import tar, { type Pack } from 'tar-stream';
import { devMajor, devMinor, lstatOrNull } from './tree-walk.js';
import { PAX_XATTR_PREFIX, type PackHeader, type TarHeader } from './tar-types.js';
import { WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX, isHostOnlyXattr } from './whiteouts.js';
import type { XattrTable } from './xattrs.js';

/** One thing to put in a layer tar, in the order it should appear. */
export type LayerItem =
  /** The filesystem object at `<root>/<rel>`, as it is on disk. */
  | { kind: 'path'; rel: string }
  /** `<rel>` was deleted: written as `dir/.wh.<name>`. */
  | { kind: 'whiteout'; rel: string }
  /** Directory `<rel>` hides its lower contents: written as `<rel>/.wh..wh..opq`. */
  | { kind: 'opaque'; rel: string };

export interface LayerTarOptions {
  /** xattrs of the tree under root (root-relative keys); missing means none are written. */
  xattrs?: XattrTable;
  /** Called for xattrs that cannot travel in a tar-stream PAX record (non-UTF-8 values). */
  onSkippedXattr?: (rel: string, name: string) => void;
}

const CHUNK = 64 * 1024;

/**
 * Streams a layer tar for `items` read from `root`: regular files, dirs,
 * symlinks, devices and FIFOs with mode, owner, mtime and xattrs (PAX
 * `SCHILY.xattr.*`); a second path to an already written inode becomes a hard
 * link entry; deletions become AUFS whiteouts. Nothing is buffered beyond one
 * 64 KiB chunk: the tar is produced as the consumer reads it.
 */
export function writeLayerTar(root: string, items: AsyncIterable<LayerItem> | Iterable<LayerItem>, opts: LayerTarOptions = {}): Readable {
  const pack = tar.pack();
  const out = Readable.from(pack, { objectMode: false });
  let stopped = false;
  out.once('close', () => { stopped = true; });
  (async () => {
    const seenInodes = new Map<string, string>();
    for await (const item of items) {
      if (stopped) return;
      await writeItem(pack, root, item, seenInodes, opts);
    }
    pack.finalize();
  })().catch((err: unknown) => {
    if (!stopped) out.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return out;
}

async function writeItem(pack: Pack, root: string, item: LayerItem, seen: Map<string, string>, opts: LayerTarOptions): Promise<void> {
  if (item.kind !== 'path') {
    const parentRel = item.kind === 'opaque' ? item.rel : parentOf(item.rel);
    const parentSt = await lstatOrNull(parentRel ? `${root}/${parentRel}` : root);
    const name = item.kind === 'opaque' ? join(item.rel, WHITEOUT_OPAQUE_DIR) : join(parentOf(item.rel), WHITEOUT_PREFIX + baseOf(item.rel));
    // Whiteouts are empty regular files. Their mtime is the parent's so the same diff taken twice is the same tar.
    await addEntry(pack, {
      name,
      type: 'file',
      size: 0,
      mode: item.kind === 'opaque' ? (parentSt?.mode ?? 0o755) & 0o777 : 0o600,
      uid: item.kind === 'opaque' ? parentSt?.uid ?? 0 : 0,
      gid: item.kind === 'opaque' ? parentSt?.gid ?? 0 : 0,
      mtime: parentSt?.mtime ?? new Date(0),
    });
    return;
  }
  const abs = `${root}/${item.rel}`;
  const st = await lstatOrNull(abs);
  if (!st) return; // deleted while we were writing: nothing to export
  const header = baseHeader(item.rel, st);
  addXattrs(header, item.rel, opts);
  if (st.isFile()) {
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? seen.get(key) : undefined;
    if (first !== undefined) {
      await addEntry(pack, { ...header, type: 'link', linkname: first, size: 0 });
      return;
    }
    if (st.nlink > 1) seen.set(key, item.rel);
    await addFile(pack, { ...header, type: 'file', size: st.size }, abs);
    return;
  }
  if (st.isDirectory()) return addEntry(pack, { ...header, name: item.rel + '/', type: 'directory' });
  if (st.isSymbolicLink()) return addEntry(pack, { ...header, type: 'symlink', linkname: await readlink(abs) });
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    return addEntry(pack, {
      ...header,
      type: st.isCharacterDevice() ? 'character-device' : 'block-device',
      devmajor: devMajor(st.rdev),
      devminor: devMinor(st.rdev),
    });
  }
  if (st.isFIFO()) return addEntry(pack, { ...header, type: 'fifo' });
  // Sockets cannot be archived (tar has no type for them), as in dockerd.
}

function baseHeader(rel: string, st: Stats): TarHeader {
  return { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: 0 };
}

function addXattrs(header: TarHeader, rel: string, opts: LayerTarOptions): void {
  const attrs = opts.xattrs?.get(rel);
  if (!attrs) return;
  for (const [name, value] of attrs) {
    if (isHostOnlyXattr(name)) continue;
    const text = value.toString('utf8');
    // tar-stream encodes PAX values as UTF-8 text; a binary value would be corrupted, so it is left out.
    if (!Buffer.from(text, 'utf8').equals(value) || text.includes('\n')) {
      opts.onSkippedXattr?.(rel, name);
      continue;
    }
    header.pax ??= {};
    header.pax[PAX_XATTR_PREFIX + name] = text;
  }
}

function addEntry(pack: Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    // A regular-file entry waits for its data; an empty one (a whiteout) must be given an empty body.
    if (header.type === 'file') pack.entry(header as PackHeader, Buffer.alloc(0), cb);
    else pack.entry(header as PackHeader, cb);
  });
}

/** Copies exactly header.size bytes: a file that grew is cut, one that shrank is zero-padded, so the tar stays valid. */
async function addFile(pack: Pack, header: TarHeader, abs: string): Promise<void> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let sink!: Writable;
    const done = new Promise<void>((resolve, reject) => {
      sink = pack.entry(header as PackHeader, (err) => (err ? reject(err) : resolve())) as unknown as Writable;
    });
    done.catch(() => { /* awaited below; this only keeps an early failure from being unhandled */ });
    let remaining = header.size ?? 0;
    while (remaining > 0) {
      const buf = Buffer.alloc(Math.min(CHUNK, remaining));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      const chunk = bytesRead === 0 ? buf : buf.subarray(0, bytesRead);
      remaining -= chunk.length;
      if (!sink.write(chunk)) await waitDrain(sink);
    }
    sink.end();
    await done;
  } finally {
    await fh.close();
  }
}

function waitDrain(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => { cleanup(); resolve(); };
    const onClose = () => { cleanup(); reject(new Error('tar stream closed')); };
    const cleanup = () => { sink.off('drain', onDrain); sink.off('close', onClose); };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}
function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}
