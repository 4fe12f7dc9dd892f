import type { Readable, Writable } from 'node:stream';
import type { ConsoleSize, Resources, TaskStats } from './exec-driver.js';
import type { ContainerConfig } from './image-store.js';
import type { LogEntry, LogLineBatch } from './log-driver.js';

/**
 * The container service: the keeper of every container's configuration and
 * state, on top of the image store (what to run), the graph driver (its
 * root filesystem) and, once started, an exec driver (its processes).
 *
 * Containers are addressed as dockerd does: full ID, name (with or without
 * the leading "/"), or a unique ID prefix.
 */
export interface ContainerService {
  counts(): Promise<{ running: number; paused: number; stopped: number }>;
  create(req: CreateContainerRequest): Promise<{ id: string; warnings: string[] }>;
  /** Throws NotFoundError "No such container: <ref>". */
  get(ref: string): Promise<ContainerRecord>;
  list(): Promise<ContainerRecord[]>;
  rename(ref: string, newName: string): Promise<void>;
  remove(ref: string, opts: { force: boolean; removeVolumes: boolean }): Promise<void>;
  prune(filter: (c: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }>;
  /** Size of the writable layer, and of the whole root filesystem. */
  sizes(ref: string): Promise<{ rw: number; rootFs: number }>;

  // `start`/`stop` without a suffix are the plugin lifecycle hooks (restore at daemon start, shutdown).
  /** NotModifiedError (304) when already running; TaskStartError (400, exit code 126/127) when the process cannot run. */
  startContainer(ref: string): Promise<void>;
  /** Stop signal, then SIGKILL after the timeout (seconds; negative waits forever). NotModifiedError when not running. */
  stopContainer(ref: string, opts?: StopOptions): Promise<void>;
  restart(ref: string, opts?: StopOptions): Promise<void>;
  /** Signal by name (with or without SIG) or number; SIGKILL when absent. ConflictError when not running. */
  kill(ref: string, signal?: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  /**
   * Registers a waiter and resolves once it is registered (so an API route
   * can flush its headers before the client starts the container); `result`
   * resolves when the condition holds.
   */
  wait(ref: string, condition: WaitCondition): Promise<ContainerWait>;
  /** Terminal size of the container's TTY. */
  resize(ref: string, size: ConsoleSize): Promise<void>;
  /**
   * Attaches streams. Validation errors are thrown before `connect` is
   * called (so the API can still answer with a status code); `connect` then
   * opens the client's streams. Resolves when the attach ends: the container
   * stopped, the client detached (detach keys) or went away.
   */
  attach(ref: string, req: AttachRequest, connect: (info: { tty: boolean }) => AttachStreams): Promise<void>;
  /** `docker top`: the host's `ps` (ps_args, default `-ef`) narrowed to the container's processes. */
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  /** One resource-usage sample of a running container; undefined when it is not running. */
  stats(ref: string): Promise<TaskStats | undefined>;
  /** `docker update`: resources (applied to a running task too) and the restart policy. */
  update(ref: string, changes: UpdateConfig): Promise<{ Warnings: string[] }>;
  /** `docker export`: the container's root filesystem as a tar stream. */
  exportRootfs(ref: string): Promise<Readable>;
  /** `docker cp`: the stat of a path in the container (X-Docker-Container-Path-Stat). NotFoundError when missing. */
  statPath(ref: string, path: string): Promise<PathStat>;
  /** `docker cp` out: a tar of the path, named after its last component. */
  archivePath(ref: string, path: string): Promise<{ stat: PathStat; tar: Readable }>;
  /** `docker cp` in: extracts a tar into an existing directory of the container. */
  extractToDir(ref: string, path: string, tar: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
  /**
   * `docker commit` (dockerd's CreateImageFromContainer): pauses a running
   * container unless told not to, makes an image of its read-write layer
   * and emits the container's `commit` event. Returns the image ID.
   */
  commit(ref: string, opts: CommitOptions): Promise<string>;
  /**
   * The container's stored log, and with `follow` what it writes next:
   * `entries`, or the same read as `batches` when the log driver reads in
   * batches (consume one of the two).
   */
  logs(ref: string, opts: LogsRequest): Promise<{ tty: boolean; entries: AsyncIterable<LogEntry>; batches?: AsyncIterable<LogLineBatch> }>;

  /** `docker exec` create: returns the exec id. ConflictError unless the container is running and not paused. */
  createExec(ref: string, config: ExecCreateConfig): Promise<string>;
  /**
   * Runs an exec. Detached: resolves once it runs. Attached: `connect` opens
   * the client's streams, and the promise resolves after the process exited,
   * its exit code was recorded, and its output was written.
   */
  startExec(execId: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null }, connect: (info: { tty: boolean }) => AttachStreams): Promise<void>;
  inspectExec(execId: string): Promise<ExecInspect>;
  resizeExec(execId: string, size: ConsoleSize): Promise<void>;
  /** Ids of the container's running execs (inspect's ExecIDs). */
  execIds(ref: string): string[];

  /**
   * Called by the image store before it deletes an image whose top layer is
   * the graph-driver layer `topLayer`: drops what the service keeps of the
   * image only as a cache (an idle shared init layer, whose hold would keep
   * the image's layers past the deletion). Never throws.
   */
  evictImageCaches(topLayer: string): Promise<void>;

  dispose(): Promise<void>;
}

export interface StopOptions {
  /** Seconds; the container's StopTimeout (default 10) when absent. */
  timeout?: number;
  /** The container's StopSignal (default SIGTERM) when absent. */
  signal?: string;
}

/** A path's stat as `docker cp` gets it: `mode` is a Go os.FileMode (directory bit 1<<31, symlink 1<<27). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  /** RFC 3339 with nanoseconds. */
  mtime: string;
  /** For a symlink, where it leads inside the container; else ''. */
  linkTarget: string;
}

/** `POST /containers/{id}/update` body: zero fields are left as they are, as dockerd does. */
export interface UpdateConfig extends Resources {
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
}

/** `POST /commit` query and body. */
export interface CommitOptions {
  repo?: string;
  tag?: string;
  author: string;
  comment: string;
  /** `--change` Dockerfile lines. */
  changes: string[];
  /** Pause a running container while its layer is read (the default from API 1.13). */
  pause: boolean;
  /** A Config sent in the body; the container's own when absent. */
  config?: ContainerConfig | null;
  /** Engine version written as the image's `docker_version`. */
  dockerVersion: string;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ContainerWait {
  result: Promise<{ StatusCode: number; Error: { Message: string } | null }>;
  /** Drops the waiter (the client went away). */
  cancel(): void;
}

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Replay the stored log first. */
  logs: boolean;
  /** Stay attached to the live streams. */
  stream: boolean;
  /** `ctrl-p,ctrl-q` when absent (TTY only, as dockerd). */
  detachKeys?: string;
}

/** The client's side of an attach or exec: raw stdin in, output out (framing is the caller's business). */
export interface AttachStreams {
  stdin?: Readable;
  stdout?: Writable;
  /** Unused for a TTY, which has one output stream. */
  stderr?: Writable;
  /** Aborts when the client goes away. */
  signal?: AbortSignal;
}

export interface LogsRequest {
  /** Unix nanoseconds. */
  since?: bigint;
  until?: bigint;
  /** Last N lines; negative or absent: all. */
  tail?: number;
  follow: boolean;
  signal?: AbortSignal;
}

/** `POST /containers/{id}/exec` body (ExecConfig). */
export interface ExecCreateConfig {
  Cmd: string[];
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

/** `GET /exec/{id}/json`. */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  /** null until the process has exited. */
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user?: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

export interface CreateContainerRequest {
  name?: string;
  config: ContainerConfig & { Image: string };
  hostConfig: HostConfig;
  networkingConfig?: { EndpointsConfig?: Record<string, unknown> | null } | null;
  platform?: string;
}

/** The part of Docker's HostConfig the service interprets; the rest is kept verbatim. */
export interface HostConfig {
  Binds?: string[] | null;
  AutoRemove?: boolean;
  NetworkMode?: string;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  Runtime?: string;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  /** `--storage-opt`: handed to the graph driver for the container's layers (e.g. btrfs `size`). */
  StorageOpt?: Record<string, string> | null;
  [key: string]: unknown;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; Go's zero time "0001-01-01T00:00:00Z" when never started. */
  StartedAt: string;
  FinishedAt: string;
  /** Only for containers with a healthcheck. */
  Health?: HealthState;
}

/** State.Health in inspect (api/types/container.Health). */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  /** The last five probe results, oldest first. */
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

/** What the service persists for one container (`<data-root>/containers/<id>/config.v2.json`). */
export interface ContainerRecord {
  Id: string;
  /** With the leading "/", as dockerd stores it. */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  /** Image ID (sha256:…). */
  Image: string;
  /** The image as the user named it, for `docker ps`. */
  ImageName: string;
  Config: ContainerConfig & { Image: string };
  HostConfig: HostConfig;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
  State: ContainerState;
  Driver: string;
  Runtime: string;
  RestartCount: number;
  Platform: string;
  /** Host files bind-mounted at /etc/resolv.conf, /etc/hostname, /etc/hosts; '' until the first start. */
  ResolvConfPath?: string;
  HostnamePath?: string;
  HostsPath?: string;
  /** The log driver's file (json-file), '' for drivers without one. */
  LogPath?: string;
  /** Set by stop/kill, cleared by start: `unless-stopped` and restarts after a daemon restart look at it. */
  HasBeenManuallyStopped?: boolean;
  /** Volumes, binds and tmpfs mounts by destination (dockerd's MountPoints). */
  MountPoints?: Record<string, MountPoint>;
  /**
   * The graph-driver layer the read-write layer sits on when it is the
   * image's shared init layer; absent: the container's own `<Id>-init`.
   * Not shown by inspect (dockerd keeps it in its layer store).
   */
  InitLayer?: string;
}

/** One mount of a container, as dockerd keeps it (volume/mounts.MountPoint). */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (volumes only). */
  Name?: string;
  /** Host path: the bind source or the volume's mountpoint. */
  Source: string;
  Destination: string;
  Driver?: string;
  RW: boolean;
  /** The mode string as given (`ro,z`), shown by inspect. */
  Mode: string;
  Propagation: string;
  /** Copy the image's content at the destination into the volume when it is new and empty. */
  CopyData: boolean;
  /** A volume made for this container alone (removed with `rm -v` / `--rm`). */
  Anonymous?: boolean;
  /** A `-v` bind source is created when missing; a `--mount` one only with CreateMountpoint. */
  CreateSource?: boolean;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
  TmpfsOptions?: string[];
}
