import { readFile, unlink } from 'node:fs/promises';
import {
  ConflictError,
  NotFoundError,
  type ConsoleSize,
  type ExecProcessConfig,
  type ExitStatus,
  type OutputSpool,
  type Process,
  type Resources,
  type Task,
  type TaskIO,
  type TaskStats,
  type TaskStatus,
  removeTree,
} from '../../kernel/index.js';
import { readCgroupStats } from '../exec-libcontainer/cgroup-stats.js';
import { readExit, waitForExit } from '../exec-libcontainer/exit-watch.js';
import type { OciSpec } from '../exec-libcontainer/oci-types.js';
import { connectIo, type IoConnection, type ProcessEndpoints } from '../exec-libcontainer/process-io.js';
import { signalName } from '../exec-libcontainer/signals.js';
import { assertValidId } from './ids.js';
import type { ConmonTaskFiles, ConmonTaskRecord } from './task-layout.js';

/** An exec process as the task keeps it: the contract's Process, and a way to stop following it. */
export interface ExecHandle extends Process {
  /** Stops delivering output and stdin (driver dispose); the process keeps running. */
  detachAll(): void;
}

/** What a task needs from its driver, whatever the runtime. */
export interface ConmonTaskDeps {
  conmonPath: string;
  socatPath?: string;
  /** Tells the driver the task is gone. */
  forget?(id: string): void;
}

/**
 * A container's init process under conmon, in containerd's task states:
 * created → running ⇄ paused → stopped → deleted. The state is tracked here
 * (the driver works it out once on restore) so illegal calls fail fast with
 * containerd's wording, as ConflictError; an exit seen in conmon's exit file
 * moves any state to stopped. Streams, exit watching, exec bookkeeping and
 * the task's files are the same for every runtime; what the runtime does —
 * start, signal, freeze, update, list pids, make an exec — is left to the
 * driver's subclass.
 */
export abstract class ConmonTask<F extends ConmonTaskFiles, R extends ConmonTaskRecord, D extends ConmonTaskDeps = ConmonTaskDeps> implements Task {
  protected state: TaskStatus;
  private deleted = false;
  private exitPromise?: Promise<ExitStatus>;
  private exit?: ExitStatus;
  private readonly ios: IoConnection[] = [];
  private readonly execs = new Map<string, ExecHandle>();
  private readonly abort = new AbortController();

  constructor(readonly files: F, readonly record: R, protected readonly deps: D, initial: TaskStatus) {
    this.state = initial;
  }

  get id(): string { return this.record.id; }
  get pid(): number { return this.record.pid; }
  get runtime(): string { return this.record.runtime; }
  get output(): OutputSpool { return { path: this.files.output, format: 'cri' }; }

  protected get endpoints(): ProcessEndpoints {
    return { spool: this.files.output, attachSocket: this.files.attach, ctl: this.files.ctl, terminal: this.record.terminal, stdin: this.record.stdin, socatPath: this.deps.socatPath };
  }

  /** Runs the created process (the runtime's start); the state checks are done. */
  protected abstract launch(): Promise<void>;
  /** Sends a signal (a name such as SIGTERM, or a number as text) to a live task in state `s`. */
  protected abstract signal(sig: string, s: TaskStatus): Promise<void>;
  /** Freezes / thaws every process of the task. */
  protected abstract freeze(): Promise<void>;
  protected abstract thaw(): Promise<void>;
  /** Sends SIGKILL to whatever of the task still runs (delete --force); errors are ignored. */
  protected abstract forceKill(): Promise<void>;
  /** Applies new resources to a task that is not stopped. */
  protected abstract applyResources(resources: Resources, s: TaskStatus): Promise<void>;
  /** Every pid of a task that is not stopped. */
  protected abstract listPids(): Promise<number[]>;
  /** Builds (does not start) an exec process from the container's spec. */
  protected abstract newExec(execId: string, spec: OciSpec, config: ExecProcessConfig, io: TaskIO): Promise<ExecHandle>;
  abstract resize(size: ConsoleSize): Promise<void>;

  /** conmon's OOM marker, for runtimes whose cgroup outlives the process long enough to see it. */
  protected get oomFile(): string | undefined { return undefined; }
  /** The exit as the task reports it; a runtime whose monitor sees another process's status corrects it here. */
  protected correctExit(e: ExitStatus): ExitStatus | Promise<ExitStatus> { return e; }
  /** Removes the runtime's own state once the process is gone (delete). */
  protected async removeRuntimeState(): Promise<void> {}

  /** The exit, when conmon has recorded one. */
  protected async exited(): Promise<ExitStatus | undefined> {
    const e = await readExit(this.files.exit);
    return e && this.correctExit(e);
  }

  /** Connects the streams given at create/restore; they end when the process exits. */
  async connect(io: TaskIO | undefined, defaultFrom: 'start' | 'end'): Promise<void> {
    if (!io) return;
    const conn = await connectIo(this.endpoints, io, defaultFrom);
    this.ios.push(conn);
    void this.wait().then(() => conn.exited(), () => conn.detach());
  }

  async status(): Promise<TaskStatus> {
    this.assertNotDeleted();
    if (this.state !== 'stopped' && (await this.exited())) this.state = 'stopped';
    return this.state;
  }

  async start(): Promise<void> {
    const s = await this.status();
    if (s === 'running') throw new ConflictError('cannot start a running process');
    if (s === 'paused') throw new ConflictError('cannot start a paused process');
    if (s === 'stopped') throw new ConflictError('cannot start a stopped process');
    await this.launch();
    this.state = 'running';
  }

  async kill(signal: string | number): Promise<void> {
    const s = await this.status();
    const sig = signalName(signal);
    if (s === 'stopped') throw new ConflictError('process already finished');
    try {
      await this.signal(sig, s);
    } catch (err) {
      if (await this.exited()) throw new ConflictError('process already finished', { cause: err });
      throw err;
    }
  }

  async pause(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot pause task in created state');
    if (s === 'paused') throw new ConflictError('cannot pause a paused container');
    if (s === 'stopped') throw new ConflictError('cannot pause a stopped container');
    await this.freeze();
    this.state = 'paused';
  }

  async resume(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot resume task in created state');
    if (s === 'running') throw new ConflictError('cannot resume a running process');
    if (s === 'stopped') throw new ConflictError('cannot resume a stopped container');
    await this.thaw();
    this.state = 'running';
  }

  wait(): Promise<ExitStatus> {
    this.exitPromise ??= waitForExit(this.files.exit, { oomFile: this.oomFile, monitorPid: this.record.monitorPid, signal: this.abort.signal })
      .then((e) => this.correctExit(e))
      .then((e) => {
        this.exit = e;
        this.state = 'stopped';
        return e;
      });
    return this.exitPromise;
  }

  async attach(io: TaskIO): Promise<{ detach(): void }> {
    this.assertNotDeleted();
    const conn = await connectIo(this.endpoints, io, 'end');
    this.ios.push(conn);
    void this.wait().then(() => conn.exited(), () => undefined);
    return { detach: () => conn.detach() };
  }

  async exec(execId: string, config: ExecProcessConfig, io: TaskIO): Promise<Process> {
    const s = await this.status();
    if (s === 'paused') throw new ConflictError('cannot exec in a paused state');
    if (s === 'stopped') throw new ConflictError('cannot exec in a stopped state');
    if (s === 'created') throw new ConflictError(`container ${this.id} is not running`);
    assertValidId('exec', execId);
    if (this.execs.has(execId)) throw new ConflictError(`exec ${execId} already exists`);
    const spec = JSON.parse(await readFile(this.files.spec, 'utf8')) as OciSpec;
    const p = await this.newExec(execId, spec, config, io);
    this.execs.set(execId, p);
    return p;
  }

  async pids(): Promise<number[]> {
    const s = await this.status();
    if (s === 'stopped') return [];
    return this.listPids();
  }

  async stats(): Promise<TaskStats> {
    const s = await this.status();
    // pid 0: created, and the runtime has not told the init's pid yet.
    if (s === 'stopped' || this.pid === 0) throw new ConflictError(`container ${this.id} is not running`);
    return readCgroupStats(this.pid, this.record.cgroupVersion);
  }

  async update(resources: Resources): Promise<void> {
    const s = await this.status();
    if (s === 'stopped') throw new ConflictError('cannot update a stopped container');
    await this.applyResources(resources, s);
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    if (this.deleted) return;
    const s = await this.status();
    if (s === 'running' && !opts.force) throw new ConflictError('cannot delete a running process');
    if (s === 'paused' && !opts.force) throw new ConflictError('cannot delete a paused process');
    if (s !== 'stopped') {
      await this.forceKill().catch(() => undefined);
      // A frozen process cannot die of its SIGKILL until it is thawed.
      if (s === 'paused') await this.thaw().catch(() => undefined);
      await this.wait().catch(() => undefined);
    }
    await this.removeRuntimeState();
    this.deleted = true;
    this.deps.forget?.(this.id);
    this.release();
    // Three places that need nothing of each other (restore finds a task by its bundle's task.json;
    // a leftover exit file or spool of a gone task is never read): removed side by side, the
    // directories by removeTree (a call per entry, not rm's lstat and failing rmdir besides).
    await Promise.all([
      removeTree(this.files.bundle),
      // One unlink (rm would lstat it first); none there is fine.
      unlink(this.files.sharedExit).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      }),
      removeTree(this.files.spool),
    ]);
  }

  /** Stops watching and following (driver dispose): the process and its monitor keep running. */
  release(): void {
    for (const c of this.ios.splice(0)) c.detach();
    for (const e of this.execs.values()) e.detachAll();
    if (this.exit === undefined) this.abort.abort();
  }

  private assertNotDeleted(): void {
    if (this.deleted) throw new NotFoundError(`task ${this.id} not found`);
  }
}
