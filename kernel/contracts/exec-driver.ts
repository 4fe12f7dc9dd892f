import type { Readable, Writable } from 'node:stream';

/**
 * An exec driver runs container processes: `exec-libcontainer` drives an OCI
 * runtime (runc, crun) through a bundle, `exec-lxc` drives LXC's tools.
 * One driver serves one or more runtime names (`docker run --runtime NAME`).
 *
 * Lifecycle of a task: create → start → (pause ↔ resume) → kill → wait → delete.
 * The full container-facing surface (exec, stats, update, resize) arrives with
 * the container service; this contract is what the kernel and `/info` need now.
 */
export interface ExecDriver {
  /** Docker-visible runtime names this driver serves, e.g. ["runc", "crun"]. */
  runtimes(): RuntimeInfo[];
  /** Capabilities the driver honestly has; the API answers 501 for the rest. */
  readonly capabilities: ReadonlySet<string>;
  create(task: TaskSpec): Promise<Task>;
  /** Re-attaches to tasks that kept running while berthd was down (live-restore). */
  restore?(id: string): Promise<Task | undefined>;
  dispose(): Promise<void>;
}

export interface RuntimeInfo {
  name: string;
  path: string;
  args?: string[];
}

export interface TaskSpec {
  id: string;
  runtime: string;
  bundle: string;
  /** The OCI runtime spec (config.json) as a plain object. */
  spec: Record<string, unknown>;
  io: TaskIO;
}

export interface TaskIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  terminal: boolean;
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  exitedAt: Date;
}

export interface Task {
  readonly id: string;
  readonly pid: number;
  start(): Promise<void>;
  kill(signal: string | number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  wait(): Promise<ExitStatus>;
  delete(): Promise<void>;
}
