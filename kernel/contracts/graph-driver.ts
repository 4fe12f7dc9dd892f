import type { Readable } from 'node:stream';

/**
 * A graph driver stores filesystem layers as a parent → child chain and
 * prepares root filesystems from them (dockerd's graphdriver contract).
 *
 * Vocabulary: a *layer* is identified by an opaque `id` chosen by the caller
 * (the image store uses chain IDs for image layers and `<container-id>` /
 * `<container-id>-init` for container layers). `parent` is the id of the layer
 * below, or null for a base layer. Read-only layers are created with
 * `create`, writable container layers with `createReadWrite`.
 *
 * Importing a layer:  create(chainId, parentChainId)
 *                     applyDiff(chainId, parentChainId, tarStream) → bytes
 * Running:            createReadWrite(cid, topChainId); path = get(cid) … put(cid)
 * Saving/committing:  diff(cid, topChainId) → tar stream of the changes
 *
 * `get`/`put` are reference counted: each `get` must be paired with a `put`;
 * the driver unmounts when the count drops to zero.
 */
export interface GraphDriver {
  /** Name shown by `docker info` ("overlay2", "vfs", "btrfs", "devicemapper"). */
  readonly name: string;
  /** Rows shown under "Storage Driver" in `docker info` (DriverStatus). */
  status(): Promise<Array<[string, string]>>;
  /** Metadata for `GraphDriver.Data` in image/container inspect. */
  metadata(id: string): Promise<Record<string, string>>;

  create(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void>;
  createReadWrite(id: string, parent: string | null, opts?: CreateLayerOptions): Promise<void>;
  /** Throws ConflictError while the layer is mounted. Removing a missing layer is a no-op. */
  remove(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
  /** Mounts (if needed) and returns the path of the layer's merged filesystem. */
  get(id: string, mountLabel?: string): Promise<string>;
  /** Releases one `get`; unmounts when the last one is released. */
  put(id: string): Promise<void>;

  /** The changes of `id` relative to `parent` as an uncompressed tar with whiteouts. */
  diff(id: string, parent: string | null): Promise<Readable>;
  /** Filesystem changes of `id` relative to `parent`, for `docker diff`. */
  changes(id: string, parent: string | null): Promise<Change[]>;
  /** Unpacks a layer tar (with whiteouts) into `id`; returns the unpacked size in bytes. */
  applyDiff(id: string, parent: string | null, diff: Readable): Promise<number>;
  /** Size in bytes of the changes of `id` relative to `parent`. */
  diffSize(id: string, parent: string | null): Promise<number>;

  /**
   * Optional: creates each entry in layer `id` unless its merged view already
   * has something at that path, without mounting the layer (dockerd mounts
   * the init layer for this; overlay2 can write its upper dir directly, which
   * saves a mount, an unmount and the filesystem sync the unmount does).
   * Resolves false, having written nothing, when the driver cannot tell for
   * some path (a symlinked parent, an opaque directory): the caller then
   * mounts the layer and creates the entries through `get`.
   */
  populate?(id: string, entries: readonly LayerEntry[]): Promise<boolean>;

  /**
   * Optional: true when `applyDiff` of a layer reads nothing of its parents'
   * content (overlay2's native diffs: a layer is unpacked into its own diff
   * dir), so the layers of one chain, once created, may be unpacked at the
   * same time. Absent or false: each layer is unpacked after its parent
   * (vfs copies the parent's tree; a diff applied through a mount sees it).
   */
  independentDiffs?(): Promise<boolean>;

  /** Unmounts everything and releases resources; calling it twice is harmless. */
  dispose(): Promise<void>;
}

/** A placeholder `populate` creates: an empty file or a directory, mode as given. */
export interface LayerEntry {
  /** Relative to the layer root, `/`-separated, no `.` or `..`. */
  path: string;
  type: 'dir' | 'file';
  mode: number;
}

export interface CreateLayerOptions {
  /** `--storage-opt` key=value pairs for a container layer (e.g. size). */
  storageOpt?: Record<string, string>;
  mountLabel?: string;
  /**
   * A container layer whose content need not outlive a host crash (a `--rm`
   * container, removed after any crash anyway): the driver may skip the syncs
   * it would make (overlay2 mounts it `volatile`, so its unmount does not sync
   * the whole backing filesystem). Ignored by drivers that cannot use it.
   */
  volatile?: boolean;
}

/** One `docker diff` entry: Kind 0 = modified, 1 = added, 2 = deleted (dockerd's numbering). */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}
