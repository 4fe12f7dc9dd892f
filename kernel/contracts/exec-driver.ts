import type { Readable, Writable } from 'node:stream';
import { InvalidParameterError } from '../errors.js';

/**
 * An exec driver runs container processes: `exec-libcontainer` drives an OCI
 * runtime (runc, crun) through a generated bundle, `exec-lxc` drives LXC's
 * tools. One driver serves one or more runtime names (`docker run --runtime NAME`);
 * each task records the runtime it was created with, so a reload of
 * `runtimes`/`default-runtime` only affects new tasks (containerd's
 * `CreateOpts.Runtime`, dockerd's reloadable runtimes).
 *
 * The model is containerd's task: a task is the container's init process plus
 * the sandbox around it; exec processes run beside it.
 *
 *   create({ id, config, rootfs, io })  → Task in state `created` (process not running yet)
 *   task.start()                        → `running`
 *   task.pause() / task.resume()        → `paused` ↔ `running`
 *   task.exec(execId, process, io)      → Process (created); process.start() runs it
 *   task.kill('SIGTERM'); await task.wait() → `stopped`, { exitCode, oomKilled, exitedAt }
 *   task.delete()                       → runtime state and cgroup are gone
 *
 * The input is Docker-shaped (`ContainerRunConfig`, a subset of Config +
 * HostConfig), not an OCI spec: each driver translates it into what its
 * runtime needs (exec-libcontainer: an OCI bundle as dockerd would generate;
 * exec-lxc: an lxc config), the way the old execdriver took a `Command`.
 *
 * Illegal transitions throw ConflictError with containerd's wording
 * ("cannot pause task in created state"); unknown tasks NotFoundError. A
 * process that cannot start because its binary is missing or not executable
 * throws `TaskStartError` carrying dockerd's exit code (127 / 126).
 *
 * Processes outlive the daemon: a driver keeps a small per-task monitor that
 * holds the process's stdio and writes output to the task's output spool and
 * the exit status to disk. After a restart, `list()` + `restore(id)` re-attach
 * (live-restore); `wait()` then reports an exit that happened while the
 * daemon was down.
 */
export interface ExecDriver {
  /** Docker-visible runtime names this driver serves, with paths, for `docker info`. */
  runtimes(): RuntimeInfo[];
  /**
   * A runtime's version for `docker version` ('' when unknown). Probed on the
   * first call and remembered: running `<runtime> --version` at start-up
   * would cost every daemon start a process for a figure few requests need.
   */
  runtimeVersion(name: string): Promise<string>;
  /** Name of the runtime used when a task names none (`default-runtime`). */
  readonly defaultRuntime: string;
  /** Capabilities the driver honestly has; the API answers 501 for the rest. */
  readonly capabilities: ReadonlySet<ExecCapability>;
  /** Prepares the task (bundle, monitor, runtime `create`); the process is not started. */
  create(spec: TaskSpec): Promise<Task>;
  /** Ids of tasks this driver has state for (running, or exited but not deleted). */
  list(): Promise<string[]>;
  /**
   * Re-attaches to a task that kept running (or exited) while berthd was down.
   * Resolves undefined when the driver knows no such task.
   */
  restore(id: string, io?: TaskIO): Promise<Task | undefined>;
  /** Releases watchers and streams; tasks keep running. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Optional abilities, as capability strings (never empty stub methods). */
export type ExecCapability =
  | 'tty'
  | 'stdin'
  | 'resize'
  | 'pause'
  | 'exec'
  | 'pids'
  | 'stats'
  | 'update'
  | 'oom-detection'
  | 'live-restore';

export interface RuntimeInfo {
  name: string;
  path: string;
  args?: string[];
}

export interface TaskSpec {
  /** Container id (64 hex in Berth; any runtime-safe name works). */
  id: string;
  /** Runtime name (`--runtime`); the driver's default when omitted. */
  runtime?: string;
  config: ContainerRunConfig;
  /** Host path of the prepared root filesystem (a graph driver's `get`). */
  rootfs: string;
  io: TaskIO;
}

/**
 * Streams for a process. Output is delivered from the task's output spool, so
 * `from` chooses where to start: `start` (everything the process wrote, the
 * default on create) or `end` (only new output, the default on restore/attach).
 * A number is a byte offset in the spool from `Task.output`.
 */
export interface TaskIO {
  terminal: boolean;
  stdin?: Readable;
  /** Close the process's stdin when this `stdin` ends (Docker's StdinOnce). */
  stdinOnce?: boolean;
  stdout?: Writable;
  /** Ignored for a terminal (a TTY has one output stream). */
  stderr?: Writable;
  from?: 'start' | 'end' | number;
}

/** Exit of a process, as moby's ExitStatus plus the time containerd reports. */
export interface ExitStatus {
  /** 128+signal for a process killed by a signal, as dockerd reports it. */
  exitCode: number;
  oomKilled: boolean;
  exitedAt: Date;
}

export type TaskStatus = 'created' | 'running' | 'paused' | 'stopped';

/**
 * Where a process's output lives on disk while nobody reads it. `cri` is the
 * CRI/k8s-file line format: `<RFC3339Nano> <stdout|stderr> <F|P> <bytes>\n`
 * (P = partial line, its bytes carry no newline). The container service reads
 * it from a remembered offset to write json-file logs, including output made
 * while berthd was down.
 */
export interface OutputSpool {
  path: string;
  format: 'cri';
}

export interface Process {
  readonly id: string;
  /** Host pid of the process; 0 before start (exec) or after exit is unknown. */
  readonly pid: number;
  /** Where the output is kept; none for an exec whose output goes only to its streams. */
  readonly output?: OutputSpool;
  start(): Promise<void>;
  /** Signal by name ("SIGTERM", "TERM") or number. ConflictError when not running. */
  kill(signal: string | number): Promise<void>;
  /** Terminal size; ConflictError without a terminal. */
  resize(size: ConsoleSize): Promise<void>;
  /** Resolves once, when the process has exited (also for exits seen after a restore). */
  wait(): Promise<ExitStatus>;
  /** Connects more streams (docker attach); the returned handle detaches them. */
  attach(io: TaskIO): Promise<{ detach(): void }>;
}

export interface Task extends Process {
  readonly runtime: string;
  readonly output: OutputSpool;
  status(): Promise<TaskStatus>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Prepares a process beside the init process; start() runs it. ConflictError unless running. */
  exec(execId: string, config: ExecProcessConfig, io: TaskIO): Promise<Process>;
  /** Host pids of every process in the task. */
  pids(): Promise<number[]>;
  stats(): Promise<TaskStats>;
  /** Changes resources of a running task (docker update). */
  update(resources: Resources): Promise<void>;
  /** Removes runtime state and cgroup; ConflictError while running unless forced (then killed). */
  delete(opts?: { force?: boolean }): Promise<void>;
}

/** Thrown by start/exec start when the process cannot run; dockerd sets `exitCode` as the container's. */
export class TaskStartError extends InvalidParameterError {
  constructor(message: string, readonly exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface ConsoleSize {
  height: number;
  width: number;
}

/**
 * The subset of Docker's container Config + HostConfig an exec driver needs,
 * with Docker's field names so the container service passes its records as
 * they are. `Path`/`Args` are the resolved Entrypoint + Cmd. Mounts are
 * already resolved to host paths (volumes, binds, /etc/hosts and friends).
 */
export interface ContainerRunConfig {
  Path: string;
  Args: string[];
  Config: {
    Env?: string[];
    WorkingDir?: string;
    User?: string;
    Hostname?: string;
    Domainname?: string;
    Tty?: boolean;
    OpenStdin?: boolean;
    StdinOnce?: boolean;
  };
  HostConfig: HostConfigSubset;
  Mounts?: RunMount[];
}

export interface HostConfigSubset extends Resources {
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  /** `no-new-privileges[:true]`, `seccomp=unconfined`, `seccomp=<profile JSON>`. */
  SecurityOpt?: string[] | null;
  /** Bytes; 64 MiB when 0 or unset. */
  ShmSize?: number;
  /** Destination → mount options ("size=64m,mode=1777"). */
  Tmpfs?: Record<string, string>;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }> | null;
  /** Run docker-init as pid 1; `InitPath` is the host binary. */
  Init?: boolean | null;
  /** `none`, `host`, `container:<id>` (resolved to `NetworkNamespacePath`), anything else = private. */
  NetworkMode?: string;
  /** Joins an existing network namespace (container:<id>, a bridge sandbox). */
  NetworkNamespacePath?: string;
  PidMode?: string;
  /** `--pid container:<id>`: the other container's pid namespace (`/proc/<pid>/ns/pid`). */
  PidNamespacePath?: string;
  /** `host`, `private`, `shareable`, `none`, `container:<id>` (resolved to `IpcNamespacePath`). */
  IpcMode?: string;
  /** `--ipc container:<id>`: the other container's ipc namespace (`/proc/<pid>/ns/ipc`). */
  IpcNamespacePath?: string;
  UTSMode?: string;
  /** `private` or `host`; dockerd's default is private on cgroup v2, host on v1. */
  CgroupnsMode?: string;
  CgroupParent?: string;
  Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }> | null;
  DeviceCgroupRules?: string[] | null;
  Sysctls?: Record<string, string> | null;
  GroupAdd?: string[] | null;
  OomScoreAdj?: number;
  /** [height, width] of the initial TTY. */
  ConsoleSize?: [number, number];
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  Annotations?: Record<string, string> | null;
}

/** Docker's resource fields (HostConfig.Resources / `docker update`). */
export interface Resources {
  Memory?: number;
  MemoryReservation?: number;
  /** -1 = unlimited swap. */
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  /** 0 or negative = unlimited. */
  PidsLimit?: number | null;
  BlkioWeight?: number;
}

export interface RunMount {
  Source: string;
  Destination: string;
  /** `bind` (default) or `tmpfs`. */
  Type?: 'bind' | 'tmpfs';
  ReadOnly?: boolean;
  /** rprivate, rshared, rslave… */
  Propagation?: string;
  /** Extra mount options (tmpfs size/mode). */
  Options?: string[];
}

/** `docker exec` options (ExecConfig). */
export interface ExecProcessConfig {
  Cmd: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  Privileged?: boolean;
  ConsoleSize?: [number, number];
}

/** Resource usage, close to the cgroup numbers `docker stats` is computed from. */
export interface TaskStats {
  read: Date;
  pids: { current: number; limit?: number };
  cpu: { totalUsageNs: number; userNs: number; systemNs: number; throttledPeriods: number; throttledTimeNs: number };
  memory: { usage: number; limit?: number; maxUsage?: number; cache?: number; stats: Record<string, number> };
  blkio: { readBytes: number; writeBytes: number };
}
