import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import {
  InvalidParameterError,
  type ExecCapability,
  type ExecDriver,
  type Logger,
  type RuntimeInfo,
  type Task,
  type TaskSpec,
  type TaskStatus,
} from '../../kernel/index.js';
import { ConmonDriver, killRecordedPid, type ConmonDriverOptions } from '../conmon-task/index.js';
import { readExit } from '../exec-libcontainer/exit-watch.js';
import { startScript } from './launch-scripts.js';
import { LxcCli } from './lxc-cli.js';
import { renderLxcConfig } from './lxc-config.js';
import { LxcFiles, type LxcTaskRecord, type LxcTools } from './lxc-files.js';
import { LxcTask } from './lxc-task.js';
import { isFrozen } from './freezer.js';
import { checkCommand } from './look-path.js';

export interface LxcDriverOptions extends ConmonDriverOptions {
  /** `<exec-root>/exec-lxc`: the shim, LXC's lxcpath, task directories, exit files. */
  stateDir: string;
  /** The shim conmon runs as its "runtime" (installShim). */
  shimPath: string;
  tools: LxcTools;
  /** Name this driver's runtime is known by (`lxc`). */
  runtimeName?: string;
  log?: Logger;
}

/**
 * exec-lxc: runs containers with LXC's tools, registered as the runtime
 * `lxc`. `create` builds the same OCI spec exec-libcontainer would (dockerd's
 * createSpec) and renders it as an LXC configuration (lxc-config.ts), then
 * starts conmon — the same per-container monitor exec-libcontainer uses —
 * with the shim as its runtime: conmon holds the container's stdio, writes
 * the CRI output spool and the exit file, and outlives berthd, so logs and
 * exit codes survive a daemon restart (live-restore) exactly as for runc.
 *
 *   conmon ─ start.sh ⇢ lxc-start -F (LXC's monitor) ─ container init (pid 1)
 *   conmon ─ exec.sh  ⇢ lxc-attach ─ exec process
 *
 * Docker's model — the container's process is its pid 1 — is lxc-start with
 * the command as init (`lxc-start -F -- CMD`), not lxc-execute, whose own
 * init (init.lxc) would be pid 1 and turn SIGTERM into "kill everything after
 * a second"; `--init` uses docker-init as runc does.
 */
export class LxcDriver extends ConmonDriver<LxcFiles, LxcTaskRecord, LxcTask> implements ExecDriver {
  readonly capabilities: ReadonlySet<ExecCapability>;
  private readonly swapAccounting = existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');

  constructor(private readonly o: LxcDriverOptions) {
    super(o);
    // oom-detection: LXC's stop hook reads the container's OOM-kill count before LXC removes the cgroup (shim-script.ts).
    const caps: ExecCapability[] = ['tty', 'resize', 'pause', 'exec', 'pids', 'stats', 'update', 'oom-detection', 'live-restore'];
    if (o.socatPath) caps.push('stdin');
    this.capabilities = new Set(caps);
  }

  private version?: Promise<string>;

  /** `lxc-start --version`, run on the first `docker version` rather than at every start. */
  runtimeVersion(name: string): Promise<string> {
    if (name !== this.runtimeName) return Promise.resolve('');
    this.version ??= new Promise((resolve) => {
      execFile(this.o.tools.start, ['--version'], { timeout: 5000 }, (err, out) => resolve(err ? '' : out.trim()));
    });
    return this.version;
  }

  get defaultRuntime(): string {
    return this.runtimeName;
  }

  private get runtimeName(): string {
    return this.o.runtimeName ?? 'lxc';
  }

  runtimes(): RuntimeInfo[] {
    return [{ name: this.runtimeName, path: this.o.tools.start }];
  }

  protected taskFiles(id: string): LxcFiles {
    return new LxcFiles(this.o.stateDir, this.o.spoolDir, id);
  }

  async create(spec: TaskSpec): Promise<Task> {
    this.assertOpen();
    const runtime = spec.runtime || this.runtimeName;
    if (runtime !== this.runtimeName) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
    // LXC itself has not started before the record is saved (start.sh waits at its gate): only the holder is left.
    const files = await this.newTaskFiles(spec.id, (left) => killRecordedPid(left.holderPid, left.bundle));

    const oci = await this.buildSpec(spec);
    const rendered = renderLxcConfig(oci, spec.config, { cgroupVersion: this.cgroupVersion, shimPath: this.o.shimPath, seccompPath: files.seccomp, sysctlPath: files.sysctl, oomPath: files.oom, swapAccounting: this.swapAccounting });
    await checkCommand(spec.rootfs, oci.process.args[0] ?? '', oci.process.env, spec.config.Mounts ?? []);
    await this.prepareRootfs(spec, oci);

    const record: LxcTaskRecord = { ...this.baseRecord(spec, runtime, oci), holderPid: 0, tools: this.o.tools };
    const { terminal, stdin } = record;
    await this.makeTaskDirs(files, oci);
    await mkdir(files.lxcPath, { recursive: true, mode: 0o711 });
    await writeFile(files.config, rendered.config);
    if (rendered.seccomp) await writeFile(files.seccomp, rendered.seccomp);
    if (rendered.sysctl) await writeFile(files.sysctl, rendered.sysctl);
    execFileSync('mkfifo', ['-m', '600', files.gate]);
    if (terminal && !stdin) execFileSync('mkfifo', ['-m', '600', files.holdFifo]);
    const lxcStart = [this.o.tools.start, '-F', '-q', '-n', spec.id, '-P', files.lxcPath, '-f', files.config, '-o', files.lxcLog, '-l', 'INFO', '--', ...oci.process.args];
    const scripts = startScript({ fifo: files.gate, lxcStart, terminal, stdin, ttyFile: files.tty, holdFifo: files.holdFifo, consoleSize: oci.process.consoleSize });
    await writeFile(files.startScript, scripts.main);
    if (scripts.tty) await writeFile(`${files.tty}.sh`, scripts.tty);
    const started = await this.launchTask(files, spec, record, {
      runtimePath: this.o.shimPath,
      runtimeArgs: [],
      pidFile: files.holderPid,
      terminal: false, // a TTY is LXC's console behind `script` (launch-scripts.ts); conmon holds pipes
    });
    record.holderPid = started.pid;
    record.monitorPid = started.monitorPid;
    return this.finishCreate(files, record, spec.io);
  }

  protected newTask(files: LxcFiles, record: LxcTaskRecord, status: TaskStatus): LxcTask {
    return new LxcTask(files, record, {
      conmonPath: this.o.conmonPath,
      shimPath: this.o.shimPath,
      socatPath: this.o.socatPath,
      swapAccounting: this.swapAccounting,
      forget: this.forget,
    }, status);
  }

  protected async restoredStatus(files: LxcFiles, record: LxcTaskRecord): Promise<TaskStatus> {
    if (record.pid === 0) return 'created';
    const st = await new LxcCli(record.tools, record.id, files.lxcPath).state().catch(() => undefined);
    let status: TaskStatus = st === 'STOPPED' || st === undefined ? 'stopped' : 'running';
    if (status === 'running' && (st === 'FROZEN' || (await isFrozen(record.pid, record.cgroupVersion)))) status = 'paused';
    // LXC may already have forgotten a container whose exit conmon has not written yet.
    if (status === 'stopped' && !(await readExit(files.exit))) status = 'running';
    return status;
  }
}
