import { join } from 'node:path';
import {
  InvalidParameterError,
  NotFoundError,
  type ExecCapability,
  type ExecDriver,
  type Logger,
  type RuntimeInfo,
  type Task,
  type TaskSpec,
  type TaskStatus,
} from '../../kernel/index.js';
import { ConmonDriver, type ConmonDriverOptions } from '../conmon-task/index.js';
import { FifoPool } from './fifo-pool.js';
import { OciTask } from './oci-task.js';
import { RuntimeCli } from './runc-cli.js';
import { TaskFiles, type TaskRecord } from './task-files.js';

export interface RuntimeSpec {
  path: string;
  args?: string[];
}

export interface LibcontainerOptions extends ConmonDriverOptions {
  /** Bundles, sockets, exit files: `<exec-root>/exec-libcontainer`. */
  stateDir: string;
  /** Runtime state roots are `<runtimeRoot>/<name>` (`<exec-root>/runtime`). */
  runtimeRoot: string;
  /** Runtime name → binary; `runc` plus daemon.json `runtimes`. */
  runtimes: Record<string, RuntimeSpec>;
  defaultRuntime: string;
  /** `mkfifo`, for the pipes of execs without a terminal; without it they run under conmon too. */
  mkfifoPath?: string;
  log?: Logger;
}

/**
 * exec-libcontainer: runs containers with an OCI runtime (runc, crun, any
 * runtime with runc's command line) under conmon. `create` writes the bundle
 * (config.json from `buildOciSpec`) and task.json, then conmon runs
 * `<runtime> create`; everything later goes through the runtime CLI with the
 * runtime recorded in task.json, so a task keeps its runtime across reloads
 * and restarts. Disposing the driver leaves tasks and monitors running.
 * The task table, restore and conmon's launch are conmon-task's ConmonDriver.
 */
export class LibcontainerDriver extends ConmonDriver<TaskFiles, TaskRecord, OciTask> implements ExecDriver {
  readonly capabilities: ReadonlySet<ExecCapability>;
  private readonly fifos?: FifoPool;

  constructor(private readonly o: LibcontainerOptions) {
    super(o);
    if (o.mkfifoPath) this.fifos = new FifoPool(join(o.stateDir, 'fifos'), o.mkfifoPath);
    if (!o.runtimes[o.defaultRuntime]) throw new InvalidParameterError(`specified default runtime '${o.defaultRuntime}' does not exist`);
    const caps: ExecCapability[] = ['tty', 'resize', 'pause', 'exec', 'pids', 'stats', 'update', 'oom-detection', 'live-restore'];
    if (o.socatPath) caps.push('stdin');
    this.capabilities = new Set(caps);
  }

  private readonly versions = new Map<string, Promise<string>>();

  runtimeVersion(name: string): Promise<string> {
    const rt = this.o.runtimes[name];
    if (!rt) return Promise.resolve('');
    let v = this.versions.get(name);
    if (!v) this.versions.set(name, (v = this.cli(name, rt).version().catch(() => '')));
    return v;
  }

  get defaultRuntime(): string {
    return this.o.defaultRuntime;
  }

  runtimes(): RuntimeInfo[] {
    return Object.entries(this.o.runtimes).map(([name, r]) => ({
      name,
      path: r.path,
      ...(r.args?.length ? { args: [...r.args] } : {}),
    }));
  }

  private cli(name: string, rt: RuntimeSpec): RuntimeCli {
    return new RuntimeCli(name, rt.path, join(this.o.runtimeRoot, name), rt.args ?? []);
  }

  protected taskFiles(id: string): TaskFiles {
    return new TaskFiles(this.o.stateDir, this.o.spoolDir, id);
  }

  async create(spec: TaskSpec): Promise<Task> {
    this.assertOpen();
    const runtime = spec.runtime || this.o.defaultRuntime;
    const rt = this.o.runtimes[runtime];
    if (!rt) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
    const cli = this.cli(runtime, rt);
    const files = await this.newTaskFiles(spec.id, () => cli.delete(spec.id, true));

    // The task's directories (and the runtime's state root, once) are made while the spec is built.
    const oci = await this.specWithDirs(files, spec, (o) => this.prepareRootfs(spec, o), [this.onceDir(cli.root, 0o700)]);
    const record: TaskRecord = {
      ...this.baseRecord(spec, runtime, oci),
      runtimePath: rt.path,
      runtimeArgs: rt.args ?? [],
      runtimeRoot: cli.root,
    };
    await this.writeTaskFiles(files, oci);
    const started = await this.launchTask(files, spec, record, {
      runtimePath: rt.path,
      runtimeArgs: cli.globalArgs(),
      pidFile: files.initPid,
      terminal: record.terminal,
      undo: () => cli.delete(spec.id, true),
    });
    record.pid = started.pid;
    record.monitorPid = started.monitorPid;
    return this.finishCreate(files, record, spec.io);
  }

  protected newTask(files: TaskFiles, record: TaskRecord, status: TaskStatus): OciTask {
    // The runtime recorded at create, even if daemon.json no longer names it.
    const cli = recordedCli(record);
    return new OciTask(files, record, { cli, conmonPath: this.o.conmonPath, socatPath: this.o.socatPath, fifos: this.fifos, forget: this.forget }, status);
  }

  protected async restoredStatus(_files: TaskFiles, record: TaskRecord): Promise<TaskStatus> {
    const st = await recordedCli(record).state(record.id).catch((err: Error) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    return !st || st.status === 'stopped' ? 'stopped' : st.status === 'creating' ? 'created' : st.status;
  }
}

function recordedCli(record: TaskRecord): RuntimeCli {
  return new RuntimeCli(record.runtime, record.runtimePath, record.runtimeRoot, record.runtimeArgs);
}
