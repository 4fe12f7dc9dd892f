/**
 * Volumes as dockerd's volume service keeps them (daemon/volume/service):
 * named and anonymous volumes of a driver (`local` built in), labels, driver
 * options, and the references containers hold on them. The API routes and the
 * container service both talk to this contract; neither sees the driver.
 *
 * Errors carry dockerd's wording, which clients print verbatim:
 * `get <name>: no such volume` (not found), `remove <name>: volume is in use -
 * [<cid>]` (conflict), `create <name>: …` (invalid name, options or driver).
 */

/** dockerd's label on volumes created without a name (AnonymousLabel). */
export const ANONYMOUS_VOLUME_LABEL = 'com.docker.volume.anonymous';

/** One volume in the Engine API's shape (api/types/volume.Volume). */
export interface Volume {
  Name: string;
  Driver: string;
  /** Host path of the volume's data (`<data-root>/volumes/<name>/_data` for local). */
  Mountpoint: string;
  /** Go's time.RFC3339 in the daemon's local zone, seconds precision ("2026-01-02T15:04:05Z"). */
  CreatedAt: string;
  /** As given at creation: `null` when none were given, `{}` when an empty map was. */
  Labels: Record<string, string> | null;
  /** The driver options given at creation (`type`, `device`, `o` for local), or `null`. */
  Options: Record<string, string> | null;
  Scope: 'local' | 'global';
  /** Driver status; the local driver has none, so it is omitted. */
  Status?: Record<string, unknown>;
  /** Only in `/system/df`: bytes used (-1 when unknown) and how many containers reference it. */
  UsageData?: { Size: number; RefCount: number };
}

export interface CreateVolumeRequest {
  /** Empty or absent: an anonymous volume (64-hex name, ANONYMOUS_VOLUME_LABEL). */
  name?: string;
  /** Empty or absent: `local`. */
  driver?: string;
  driverOpts?: Record<string, string> | null;
  labels?: Record<string, string> | null;
  /** A reference (container ID) taken together with the creation, so no prune can slip in between. */
  ref?: string;
}

/**
 * Filters as `GET /volumes` and `POST /volumes/prune` receive them, key → values
 * (keys already checked by the route). The service applies dockerd's meaning:
 * `dangling`, `driver`, `name` (exact or regular expression), `label`,
 * `label!`, and for prune `all`.
 */
export type VolumeFilterArgs = Record<string, string[]>;

export interface VolumePruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

export interface VolumeService {
  /** Docker-visible names of the usable volume drivers (`docker info` Plugins.Volume). */
  drivers(): string[];
  /**
   * Creates a volume, or returns the existing one of that name when the driver
   * matches (dockerd's idempotent create; new labels and options are ignored then).
   */
  create(req: CreateVolumeRequest): Promise<Volume>;
  /** Throws NotFoundError `get <name>: no such volume`. */
  get(name: string): Promise<Volume>;
  /** Sorted by name. `warnings` collects drivers that could not list. */
  list(filters?: VolumeFilterArgs): Promise<{ volumes: Volume[]; warnings: string[] }>;
  /**
   * Removes a volume and its data. A referenced volume is a conflict even with
   * `force`; `force` only turns "no such volume" into success (dockerd's purge).
   */
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  /**
   * Removes unreferenced local volumes that have no driver options: only
   * anonymous ones unless the filter `all` is true (API ≥ 1.42 semantics).
   */
  prune(filters?: VolumeFilterArgs): Promise<VolumePruneReport>;
  /** `/system/df`: local volumes without driver options, each with UsageData. */
  usage(): Promise<Volume[]>;
  /**
   * Records that `ref` (a container ID) uses the volume; throws NotFoundError
   * when it does not exist. References live in memory, as in dockerd: the
   * container service takes them again for every container it restores at start.
   */
  acquire(name: string, ref: string): Promise<void>;
  /** Drops a reference; unknown names or refs are not an error. */
  release(name: string, ref: string): Promise<void>;
  /** The references a volume has now (container IDs). */
  references(name: string): string[];
  /**
   * Makes the volume's data available and returns its host path. A volume with
   * driver options (`type`, `device`, `o`) is mounted at its first mount and
   * stays mounted until the last `unmount`. `ref` names this mount (one per
   * container mount point); `eventAttributes` go on the `volume mount` event.
   */
  mount(name: string, ref: string, eventAttributes?: Record<string, string>): Promise<string>;
  /** Ends the mount `ref`; the last one unmounts what `mount` mounted. */
  unmount(name: string, ref: string, eventAttributes?: Record<string, string>): Promise<void>;
}
