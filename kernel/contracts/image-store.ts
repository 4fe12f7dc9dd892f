import type { Readable } from 'node:stream';

/**
 * The image and layer store on top of the active graph driver (dockerd's
 * ImageService with its image, layer and reference stores).
 *
 * Kernel-level consumers (`/info`, `/system/df`) need only `count()` and
 * `layersSize()`; the image API routes use the rest. Everything here speaks
 * dockerd's vocabulary: an image ID is `sha256:<hex>` of the exact config
 * bytes, layers are identified by chain ID, references are shown in their
 * familiar form (`busybox:latest`, `localhost:5000/x/y:1`).
 *
 * Errors follow dockerd's wording: an unknown image is a NotFoundError
 * `No such image: x:latest`, a malformed reference an InvalidParameterError,
 * a refused delete a ConflictError.
 */
export interface ImageStore {
  /** Number of images (`docker info` "Images"). */
  count(): Promise<number>;
  /** Lines for `docker info` Warnings (e.g. images left under a previous storage driver); optional. */
  warnings?(): Promise<string[]>;
  /** Total size of all layers used by images, for `/system/df` LayersSize. */
  layersSize(): Promise<number>;

  /** Name of the graph driver the layers live in (GraphDriver.Name in inspect). */
  readonly driverName: string;

  /** Finds an image by ID, unique ID prefix, `name[:tag]` or `name@digest`, as dockerd's GetImage. */
  get(refOrId: string): Promise<ImageInfo>;
  /** Every image, unordered. */
  list(): Promise<ImageInfo[]>;
  /** `GraphDriver.Data` for inspect: the driver's metadata of the image's top layer. */
  driverData(imageId: string): Promise<Record<string, string> | null>;
  /** `docker history`: newest first, dockerd's `<missing>` for layers that are not local images. */
  history(refOrId: string): Promise<HistoryEntry[]>;

  /** Adds (or moves) the tag `repo[:tag]` to the image; emits `tag`. */
  tag(refOrId: string, repo: string, tag?: string): Promise<void>;
  /** `docker rmi`: untags and deletes with dockerd's conflict rules; returns the records it prints. */
  remove(refOrId: string, opts: { force: boolean; prune: boolean }): Promise<DeleteRecord[]>;
  /** `docker image prune`: removes unused images matching the options. */
  prune(opts: PruneOptions): Promise<PruneReport>;

  /** `docker import`: one filesystem tar (plain or gzip) becomes a single-layer image; returns its ID. */
  importImage(tar: Readable, opts: ImportOptions): Promise<string>;
  /** `docker load`: a docker-archive or OCI layout tar (plain or gzip). Progress and results go to `out`. */
  load(archive: Readable, opts: { quiet: boolean; out: LoadOutput }): Promise<void>;
  /**
   * `docker save`: resolves every name first (so a bad name fails before any
   * byte is sent), then returns the archive as a stream (OCI layout plus
   * manifest.json and repositories, like dockerd ≥ 25).
   */
  save(names: string[]): Promise<Readable>;

  /**
   * Checks a `fromImage`/`tag` pull request as dockerd does (400 for a bad
   * reference, 403 for `scratch`) and returns it normalised
   * (`docker.io/library/busybox:latest`). Pulling itself arrives with the
   * registry client.
   */
  pullReference(image: string, tag?: string): string;

  /**
   * The graph-driver id of an image's top layer (null for an image without
   * layers): what a container's read-write layer is created on.
   */
  topLayer(imageId: string): Promise<string | null>;
  /**
   * Records that a container's read-write layer sits on the image's layers
   * (dockerd's `layerdb/mounts/<container id>`), so they outlive `rmi -f` of
   * the image until `releaseLayers`. Persistent; returns the graph-driver id
   * of the top layer, like `topLayer`.
   */
  holdLayers(containerId: string, imageId: string): Promise<string | null>;
  /** Drops the hold of `holdLayers`; layers nothing else uses are removed. Releasing twice is harmless. */
  releaseLayers(containerId: string): Promise<void>;

  /**
   * `docker commit` (dockerd's ImageService.CommitImage): registers `diff`,
   * the container's changes as a layer tar, on top of the parent image's
   * layers and stores the child image config dockerd's NewChildImage makes
   * (history entry, container, container_config, docker_version). Tags it
   * with `repo[:tag]` when given. Returns the new image ID (`sha256:…`)
   * and the familiar reference it was tagged with ('' for none).
   */
  commit(req: CommitRequest): Promise<{ id: string; ref: string }>;

  /** Layer and image primitives the registry client builds pulls and pushes from. */
  readonly content: ImageContent;

  dispose(): Promise<void>;
}

/**
 * What dockerd's distribution code uses of the layer, image and reference
 * stores. A pulled layer goes through the same registration as a loaded one
 * (tar-split, chain ID from the config's diff IDs), so the same image pulled
 * gets the same image ID and layers as in dockerd. Every layer the caller
 * gets from `holdLayer`/`registerLayer`/`holdImageLayers` must be released.
 */
export interface ImageContent {
  /** Takes a reference on a registered layer; false when it is not there. */
  holdLayer(chainId: string): boolean;
  /** Unpacks an uncompressed layer tar on `parentChain` (held by the caller), checked against `diffId`; returns its chain ID, held. */
  registerLayer(tar: import('node:stream').Readable, parentChain: string | null, diffId: string): Promise<string>;
  releaseLayer(chainId: string): Promise<void>;
  /**
   * Stores an image config whose layers the caller holds and points the
   * references at it: `tag` (normalised `name:tag`, moved if elsewhere) and
   * `digestRef` (`name@sha256:…`). Returns the image ID and whether `tag`
   * pointed elsewhere before (dockerd's "Downloaded newer image").
   */
  commitImage(config: Buffer, refs: { tag?: string; digestRef?: string }): Promise<{ id: string; updated: boolean }>;
  /** The image ID `ref` (normalised `name:tag` or `name@digest`) points at, if any. */
  lookupRef(ref: string): string | undefined;
  /** Every normalised `name:tag` of the repository `name` (push --all-tags), with its image ID. */
  tagsOf(name: string): Array<{ ref: string; id: string }>;
  /** The exact config bytes of an image. */
  imageConfig(id: string): Buffer;
  /** Holds every layer of an image for a push; returns their chain and diff IDs, bottom first. */
  holdImageLayers(id: string): Array<{ chainId: string; diffId: string }>;
  /** A held layer's tar exactly as registered (its sha256 is the diff ID), and its length. */
  layerTar(chainId: string): Promise<{ stream: import('node:stream').Readable; size: number }>;
  /** A private scratch directory under the store's root, emptied at every start. */
  readonly tmpDir: string;
}

/** One image as the store knows it. */
export interface ImageInfo {
  /** `sha256:<64 hex>`. */
  id: string;
  /** The parsed image config (docker image spec / OCI config). */
  config: ImageConfig;
  /** Familiar `name:tag` references, in dockerd's order. */
  repoTags: string[];
  /** Familiar `name@sha256:…` references. */
  repoDigests: string[];
  /** Parent image ID (locally built or loaded with a parent) or "". */
  parent: string;
  /** How many images name this one as their parent. */
  children: number;
  /** Sum of the layer sizes in bytes. */
  size: number;
  /** The image's layers, bottom first. */
  layers: LayerInfo[];
  /** RFC 3339 time of the last `docker tag`/import tag, or null (dockerd's zero time). */
  lastTagTime: string | null;
}

export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** Unpacked size of this layer alone. */
  size: number;
}

/** The subset of the image config JSON the daemon reads. Unknown keys are kept in the stored bytes. */
export interface ImageConfig {
  architecture?: string;
  variant?: string;
  os?: string;
  'os.version'?: string;
  'os.features'?: string[];
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  container?: string;
  parent?: string;
  config?: ContainerConfig | null;
  container_config?: ContainerConfig | null;
  rootfs: { type: string; diff_ids?: string[] };
  history?: HistoryConfig[];
}

/** dockerd's container.Config as it appears in image configs. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

export interface HealthConfig {
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HistoryConfig {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** One `docker history` row (dockerd's HistoryResponseItem). */
export interface HistoryEntry {
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** One line of `docker rmi` output. */
export type DeleteRecord = { Untagged: string } | { Deleted: string };

export interface PruneOptions {
  /** Only images without tags (dockerd's default), else every unused image. */
  danglingOnly: boolean;
  /** Only images created before this time (Unix nanoseconds). */
  until?: bigint;
  /** Label predicate (`label` / `label!` filters); true keeps the image a candidate. */
  labels?: (labels: Record<string, string>) => boolean;
}

export interface PruneReport {
  ImagesDeleted: DeleteRecord[] | null;
  SpaceReclaimed: number;
}

export interface ImportOptions {
  /** `repo` query value; may carry `:tag`. Empty: no tag. */
  repo?: string;
  tag?: string;
  /** History comment; dockerd's default is `Imported from <src>`. */
  message: string;
  /** Dockerfile lines (CMD, ENV, EXPOSE, …) applied to the config. */
  changes: string[];
  /** `os[/arch[/variant]]`; the host's platform when absent. */
  platform?: string;
}

/** What `commit` needs: the container's side, already merged as dockerd's CreateImageFromContainer does. */
export interface CommitRequest {
  /** The container's image (ID); its layers are the new layer's parents. */
  parentImageId: string;
  /** Opens the uncompressed tar of the container's read-write layer (with whiteouts), once the request checked out. */
  diff(): Promise<Readable>;
  containerId: string;
  author: string;
  comment: string;
  /** The request's Config, or the container's when it sent none; `changes` apply to it. */
  config: ContainerConfig;
  /** `--change` Dockerfile lines (CMD, ENV, EXPOSE, …). */
  changes: string[];
  /** The container's config as it is (`container_config`, and `created_by` from its Cmd). */
  containerConfig: ContainerConfig;
  /** `docker_version` in the config. */
  dockerVersion: string;
  repo?: string;
  tag?: string;
}

/** Where `load` reports: layer progress (when not quiet) and its result lines. */
export interface LoadOutput {
  progress(id: string, current: number, total: number): void;
  /** A result line such as `Loaded image: busybox:latest\n`. */
  line(text: string): void;
}
