import { readFile, rm } from 'node:fs/promises';
import {
  ConflictError,
  InvalidParameterError,
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
} from '../../kernel/index.js';
import { readCgroupStats } from './cgroup-stats.js';
import { ExecProcess } from './exec-process.js';
import { readExit, waitForExit } from './exit-watch.js';
import { buildExecProcess } from './oci-spec.js';
import { ociResources } from './oci-resources.js';
import type { OciSpec } from './oci-types.js';
import { connectIo, resizeTerminal, type IoConnection, type ProcessEndpoints } from './process-io.js';
import type { RuntimeCli } from './runc-cli.js';
import { signalName } from './signals.js';
import { translateStartError } from './start-errors.js';
import type { TaskFiles, TaskRecord } from './task-files.js';

/** Tools the task borrows from its driver. */
export interface TaskDeps {
  cli: RuntimeCli;
  conmonPath: string;
  socatPath?: string;
  /** Tells the driver the task is gone. */
  forget?(id: string): void;
}

/**
 * A container's init process under conmon, in containerd's task states:
 * created → running ⇄ paused → stopped → deleted. The state is tracked here
 * (the runtime is asked once on restore) so illegal calls fail fast with
 * containerd's wording, as ConflictError; an exit seen in conmon's exit file
 * moves any state to stopped.
 */
export class OciTask implements Task {
  private state: TaskStatus;
  private deleted = false;
  private exitPromise?: Promise<ExitStatus>;
  private exit?: ExitStatus;
  private readonly ios: IoConnection[] = [];
  private readonly execs = new Map<string, ExecProcess>();
  private readonly abort = new AbortController();

  constructor(
    readonly files: TaskFiles,
    readonly record: TaskRecord,
    private readonly deps: TaskDeps,
    initial: TaskStatus,
  ) {
    this.state = initial;
  }

  get id(): string { return this.record.id; }
  get pid(): number { return this.record.pid; }
  get runtime(): string { return this.record.runtime; }
  get output(): OutputSpool { return { path: this.files.output, format: 'cri' }; }

  private get endpoints(): ProcessEndpoints {
    return { spool: this.files.output, attachSocket: this.files.attach, ctl: this.files.ctl, terminal: this.record.terminal, stdin: this.record.stdin, socatPath: this.deps.socatPath };
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
    if (this.state !== 'stopped' && (await readExit(this.files.exit))) this.state = 'stopped';
    return this.state;
  }

  async start(): Promise<void> {
    const s = await this.status();
    if (s === 'running') throw new ConflictError('cannot start a running process');
    if (s === 'paused') throw new ConflictError('cannot start a paused process');
    if (s === 'stopped') throw new ConflictError('cannot start a stopped process');
    try {
      await this.deps.cli.start(this.id, this.pid);
    } catch (err) {
      throw translateStartError(this.record.command, err);
    }
    this.state = 'running';
  }

  async kill(signal: string | number): Promise<void> {
    const s = await this.status();
    const sig = signalName(signal);
    if (s === 'stopped') throw new ConflictError('process already finished');
    try {
      await this.deps.cli.kill(this.id, sig);
    } catch (err) {
      if (await readExit(this.files.exit)) throw new ConflictError('process already finished', { cause: err });
      throw err;
    }
  }

  async pause(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot pause task in created state');
    if (s === 'paused') throw new ConflictError('cannot pause a paused container');
    if (s === 'stopped') throw new ConflictError('cannot pause a stopped container');
    await this.deps.cli.pause(this.id);
    this.state = 'paused';
  }

  async resume(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot resume task in created state');
    if (s === 'running') throw new ConflictError('cannot resume a running process');
    if (s === 'stopped') throw new ConflictError('cannot resume a stopped container');
    await this.deps.cli.resume(this.id);
    this.state = 'running';
  }

  resize(size: ConsoleSize): Promise<void> {
    return resizeTerminal(this.endpoints, size);
  }

  wait(): Promise<ExitStatus> {
    this.exitPromise ??= waitForExit(this.files.exit, { oomFile: this.files.oom, monitorPid: this.record.monitorPid, signal: this.abort.signal }).then((e) => {
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
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(execId)) throw new InvalidParameterError(`invalid exec id: ${execId}`);
    if (this.execs.has(execId)) throw new ConflictError(`exec ${execId} already exists`);
    const spec = JSON.parse(await readFile(this.files.config, 'utf8')) as OciSpec;
    const processSpec = await buildExecProcess(spec, config, this.record.rootfs, this.record.user);
    const p = new ExecProcess(execId, processSpec, io, {
      record: this.record,
      dir: this.files.execDir(execId),
      spool: this.files.execOutput(execId),
      conmonPath: this.deps.conmonPath,
      socatPath: this.deps.socatPath,
    });
    this.execs.set(execId, p);
    return p;
  }

  async pids(): Promise<number[]> {
    const s = await this.status();
    if (s === 'stopped') return [];
    return this.deps.cli.ps(this.id);
  }

  async stats(): Promise<TaskStats> {
    const s = await this.status();
    if (s === 'stopped' || s === 'created' && this.pid === 0) throw new ConflictError(`container ${this.id} is not running`);
    return readCgroupStats(this.pid, this.record.cgroupVersion);
  }

  async update(resources: Resources): Promise<void> {
    const s = await this.status();
    if (s === 'stopped') throw new ConflictError('cannot update a stopped container');
    await this.deps.cli.update(this.id, ociResources(resources));
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    if (this.deleted) return;
    const s = await this.status();
    if (s === 'running' && !opts.force) throw new ConflictError('cannot delete a running process');
    if (s === 'paused' && !opts.force) throw new ConflictError('cannot delete a paused process');
    if (s !== 'stopped' && s !== 'created') {
      await this.deps.cli.kill(this.id, 'SIGKILL').catch(() => undefined);
      if (s === 'paused') await this.deps.cli.resume(this.id).catch(() => undefined);
    }
    if (s === 'created') await this.deps.cli.kill(this.id, 'SIGKILL').catch(() => undefined);
    if (s !== 'stopped') await this.wait().catch(() => undefined);
    await this.deps.cli.delete(this.id, true).catch((err: Error) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
    this.deleted = true;
    this.deps.forget?.(this.id);
    this.release();
    await rm(this.files.bundle, { recursive: true, force: true });
    await rm(this.files.sharedExit, { force: true });
    await rm(this.files.spool, { recursive: true, force: true });
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
