import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, type ContainerRunConfig, type TaskIO, type TaskSpec, type TaskStatus } from '../../kernel/index.js';
import { launchMonitor, type MonitorStarted } from '../exec-libcontainer/conmon-monitor.js';
import { readExit } from '../exec-libcontainer/exit-watch.js';
import { buildOciSpec } from '../exec-libcontainer/oci-spec.js';
import type { OciSpec } from '../exec-libcontainer/oci-types.js';
import { daemonRlimitCeiling } from '../exec-libcontainer/rlimits.js';
import { translateStartError } from '../exec-libcontainer/start-errors.js';
import { detectCgroupVersion } from './cgroup-version.js';
import type { ConmonTask } from './conmon-task.js';
import { assertValidId } from './ids.js';
import { killRecordedPid } from './recorded-pid.js';
import type { ConmonTaskFiles, ConmonTaskRecord } from './task-layout.js';
import { ensureWorkingDir } from './working-dir.js';

/** Options every conmon-based driver takes. */
export interface ConmonDriverOptions {
  /** Task directories and exit files, in the exec root. */
  stateDir: string;
  /** Output spools, under the data root. */
  spoolDir: string;
  conmonPath: string;
  /** Bridges stdin to conmon's SEQPACKET socket; without it stdin is unavailable. */
  socatPath?: string;
  /** daemon.json `cgroup-parent`. */
  cgroupParent?: string;
  /** Host docker-init for `--init`. */
  initPath?: string;
}

/** How conmon is to run a task's init: the "runtime" it calls with `create`, and what it holds. */
export interface TaskLaunch {
  runtimePath: string;
  runtimeArgs: string[];
  /** Where the runtime writes the pid conmon watches (`-p`). */
  pidFile: string;
  /** Whether conmon itself allocates the pty (`-t`). */
  terminal: boolean;
  /** Runtime state to remove when the launch fails. */
  undo?(): Promise<void>;
}

/**
 * The part of an exec driver that is the same for every runtime run under
 * conmon: the table of live tasks, the task directories (create, list,
 * restore from task.json, dispose without stopping anything), the OCI spec
 * built as dockerd's createSpec, and conmon's launch with its clean-up on
 * failure. The subclass names its runtimes, renders what its runtime needs,
 * and makes its Task objects.
 */
export abstract class ConmonDriver<F extends ConmonTaskFiles, R extends ConmonTaskRecord, T extends ConmonTask<F, R, any>> {
  protected readonly tasks = new Map<string, T>();
  protected readonly cgroupVersion = detectCgroupVersion();
  private readonly rlimitCeiling = daemonRlimitCeiling();
  private disposed = false;

  constructor(private readonly base: ConmonDriverOptions) {}

  /** The files of task `id` (they need not exist). */
  protected abstract taskFiles(id: string): F;
  /** A Task object for a record (create or restore); the driver registers it. */
  protected abstract newTask(files: F, record: R, status: TaskStatus): T;
  /** The state of a restored task whose exit conmon has not recorded, as the runtime sees it. */
  protected abstract restoredStatus(files: F, record: R): Promise<TaskStatus>;

  protected assertOpen(): void {
    if (this.disposed) throw new InvalidParameterError('exec driver is disposed');
  }

  /**
   * The files of a new task; refuses an id that is not a file name or is in
   * use. A bundle without task.json is what a create interrupted by a crash
   * (kill -9 between the directories and the record) leaves: its monitor,
   * runtime state (`discardRuntime`) and directories are cleared, or every
   * later start of that container would fail.
   */
  protected async newTaskFiles(id: string, discardRuntime: (files: F) => Promise<unknown>): Promise<F> {
    assertValidId('task', id);
    const files = this.taskFiles(id);
    if (this.tasks.has(id) || existsSync(files.record)) throw new InvalidParameterError(`task ${id} already exists`);
    if (existsSync(files.bundle)) {
      await killRecordedPid(files.monitorPid, files.bundle);
      await discardRuntime(files).catch(() => undefined);
      await Promise.all([rm(files.bundle, { recursive: true, force: true }), rm(files.spool, { recursive: true, force: true })]);
    }
    return files;
  }

  /** dockerd's createSpec for this host, with the working directory made in the rootfs. */
  protected async buildSpec(spec: TaskSpec): Promise<OciSpec> {
    const oci = await buildOciSpec(spec.config, {
      id: spec.id,
      rootfs: spec.rootfs,
      cgroupVersion: this.cgroupVersion,
      cgroupParent: this.base.cgroupParent,
      initPath: this.base.initPath,
      kernelRelease: release(),
      sysctlExists: (name) => existsSync(join('/proc/sys', name.replaceAll('.', '/'))),
      rlimitCeiling: this.rlimitCeiling,
    });
    return oci;
  }

  /** `-w` created if missing, after the runtime's own checks of the spec. */
  protected prepareRootfs(spec: TaskSpec, oci: OciSpec): Promise<void> {
    return ensureWorkingDir(spec.rootfs, oci.process.cwd, oci.process.user.uid, oci.process.user.gid);
  }

  /** The record fields every task has; pids are 0 until conmon reports them. */
  protected baseRecord(spec: TaskSpec, runtime: string, oci: OciSpec): ConmonTaskRecord {
    return {
      id: spec.id,
      runtime,
      command: oci.process.args[0] ?? '',
      terminal: oci.process.terminal === true,
      stdin: wantsStdin(spec.config.Config, spec.io),
      user: spec.config.Config.User,
      rootfs: spec.rootfs,
      cgroupVersion: this.cgroupVersion,
      pid: 0,
      monitorPid: 0,
      created: new Date().toISOString(),
    };
  }

  /** The task's bundle, the exits directory, its spool and an empty output file for conmon. */
  protected async makeTaskDirs(files: F, oci: OciSpec): Promise<void> {
    await this.makeDirs(files);
    await this.writeTaskFiles(files, oci);
  }

  /**
   * The task's directories: bundle, spool, the shared exits directory (once
   * per driver), made side by side. They need nothing of the spec, so they
   * can be made while it is built (`specWithDirs`).
   */
  protected async makeDirs(files: F): Promise<void> {
    await Promise.all([
      mkdir(files.bundle, { recursive: true, mode: 0o711 }),
      this.onceDir(files.exitsDir, 0o777),
      mkdir(files.spool, { recursive: true, mode: 0o700 }),
    ]);
  }

  /** The spec in the bundle and an empty output file for conmon. */
  protected async writeTaskFiles(files: F, oci: OciSpec): Promise<void> {
    await Promise.all([writeFile(files.spec, JSON.stringify(oci)), writeFile(files.output, '', { mode: 0o600 })]);
  }

  /**
   * The spec (buildSpec, then `prepare` — e.g. prepareRootfs) while the
   * task's directories and `moreDirs` are made: file-system round trips a
   * start would otherwise wait for one after the other. A failure leaves no
   * directory of the task behind.
   */
  protected async specWithDirs(files: F, spec: TaskSpec, prepare: (oci: OciSpec) => Promise<void>, moreDirs: Array<Promise<unknown>> = []): Promise<OciSpec> {
    const dirs = Promise.all([this.makeDirs(files), ...moreDirs]);
    try {
      const oci = await this.buildSpec(spec);
      await prepare(oci);
      await dirs;
      return oci;
    } catch (err) {
      await dirs.catch(() => undefined);
      await Promise.all([rm(files.bundle, { recursive: true, force: true }), rm(files.spool, { recursive: true, force: true })]);
      throw err;
    }
  }

  private readonly madeDirs = new Map<string, Promise<unknown>>();

  /**
   * mkdir -p of a directory every task shares (exits, a runtime's state
   * root), done once per driver instead of once per task; a failed attempt
   * is retried by the next task.
   */
  protected onceDir(path: string, mode: number): Promise<unknown> {
    let made = this.madeDirs.get(path);
    if (!made) {
      made = mkdir(path, { recursive: true, mode }).catch((err: unknown) => {
        this.madeDirs.delete(path);
        throw err;
      });
      this.madeDirs.set(path, made);
    }
    return made;
  }

  /**
   * Starts the task's conmon. On failure the task's directories go, and the
   * error is dockerd's (127/126 for a missing or non-executable command).
   */
  protected async launchTask(files: F, spec: TaskSpec, record: R, launch: TaskLaunch): Promise<MonitorStarted> {
    try {
      return await launchMonitor({
        conmonPath: this.base.conmonPath,
        runtimePath: launch.runtimePath,
        runtimeArgs: launch.runtimeArgs,
        containerId: spec.id,
        sessionId: spec.id,
        dir: files.bundle,
        pidFile: launch.pidFile,
        conmonPidFile: files.monitorPid,
        logPath: files.output,
        exitDir: files.exitsDir,
        terminal: launch.terminal,
        stdin: record.stdin,
        leaveStdinOpen: !(spec.io.stdinOnce ?? spec.config.Config.StdinOnce ?? false),
      });
    } catch (err) {
      await launch.undo?.().catch(() => undefined);
      await rm(files.bundle, { recursive: true, force: true });
      await rm(files.spool, { recursive: true, force: true });
      throw translateStartError(record.command, err);
    }
  }

  /** Saves task.json (whole or not at all: it is how restore finds the task) and registers the created task. */
  protected async finishCreate(files: F, record: R, io: TaskIO): Promise<T> {
    await saveRecord(files, record);
    const task = this.register(this.newTask(files, record, 'created'));
    await task.connect(io, 'start');
    return task;
  }

  private register(task: T): T {
    this.tasks.set(task.id, task);
    return task;
  }

  /** Lets a task tell the driver it was deleted. */
  protected readonly forget = (id: string): void => {
    this.tasks.delete(id);
  };

  async list(): Promise<string[]> {
    try {
      return readdirSync(join(this.base.stateDir, 'tasks')).filter((id) => existsSync(this.taskFiles(id).record));
    } catch {
      return [];
    }
  }

  async restore(id: string, io?: TaskIO): Promise<T | undefined> {
    const known = this.tasks.get(id);
    if (known) {
      await known.connect(io, 'end');
      return known;
    }
    const files = this.taskFiles(id);
    let record: R;
    try {
      record = JSON.parse(await readFile(files.record, 'utf8')) as R;
    } catch {
      return undefined;
    }
    const status = (await readExit(files.exit)) ? 'stopped' : await this.restoredStatus(files, record);
    const task = this.register(this.newTask(files, record, status));
    await task.connect(io, 'end');
    return task;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.tasks.values()) t.release();
    this.tasks.clear();
  }
}

/** A stdin pipe for the process: `-i`, or a stdin stream given at create. */
function wantsStdin(cfg: ContainerRunConfig['Config'], io: TaskIO): boolean {
  return cfg.OpenStdin === true || io.stdin !== undefined;
}

/** task.json through a temp file and a rename, so a crash never leaves half a record. */
export async function saveRecord(files: ConmonTaskFiles, record: ConmonTaskRecord): Promise<void> {
  await writeFile(`${files.record}.tmp`, JSON.stringify(record, null, 1));
  await rename(`${files.record}.tmp`, files.record);
}
