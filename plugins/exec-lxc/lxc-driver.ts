import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import {
  InvalidParameterError,
  type ExecCapability,
  type ExecDriver,
  type Logger,
  type RuntimeInfo,
  type Task,
  type TaskIO,
  type TaskSpec,
  type TaskStatus,
} from '../../kernel/index.js';
import { launchMonitor } from '../exec-libcontainer/conmon-monitor.js';
import { readExit } from '../exec-libcontainer/exit-watch.js';
import { detectCgroupVersion } from '../exec-libcontainer/libcontainer-driver.js';
import { buildOciSpec } from '../exec-libcontainer/oci-spec.js';
import { daemonRlimitCeiling } from '../exec-libcontainer/rlimits.js';
import { resolveInRoot } from '../exec-libcontainer/rootfs-path.js';
import { translateStartError } from '../exec-libcontainer/start-errors.js';
import { startScript } from './launch-scripts.js';
import { LxcCli } from './lxc-cli.js';
import { renderLxcConfig } from './lxc-config.js';
import { LxcFiles, type LxcTaskRecord, type LxcTools } from './lxc-files.js';
import { LxcTask } from './lxc-task.js';
import { isFrozen } from './freezer.js';
import { checkCommand } from './look-path.js';

export interface LxcDriverOptions {
  /** `<exec-root>/exec-lxc`: the shim, LXC's lxcpath, task directories, exit files. */
  stateDir: string;
  /** Output spools, under the data root. */
  spoolDir: string;
  /** The shim conmon runs as its "runtime" (installShim). */
  shimPath: string;
  conmonPath: string;
  socatPath?: string;
  tools: LxcTools;
  /** daemon.json `cgroup-parent`. */
  cgroupParent?: string;
  /** Host docker-init for `--init`. */
  initPath?: string;
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
export class LxcDriver implements ExecDriver {
  readonly capabilities: ReadonlySet<ExecCapability>;
  private readonly tasks = new Map<string, LxcTask>();
  private readonly cgroupVersion = detectCgroupVersion();
  private readonly rlimitCeiling = daemonRlimitCeiling();
  private readonly swapAccounting = existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  private disposed = false;

  constructor(private readonly o: LxcDriverOptions) {
    // No oom-detection: LXC removes the container's cgroup before conmon could look at it.
    const caps: ExecCapability[] = ['tty', 'resize', 'pause', 'exec', 'pids', 'stats', 'update', 'live-restore'];
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

  async create(spec: TaskSpec): Promise<Task> {
    if (this.disposed) throw new InvalidParameterError('exec driver is disposed');
    const runtime = spec.runtime || this.runtimeName;
    if (runtime !== this.runtimeName) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.id)) throw new InvalidParameterError(`invalid task id: ${spec.id}`);
    const files = new LxcFiles(this.o.stateDir, this.o.spoolDir, spec.id);
    if (this.tasks.has(spec.id) || existsSync(files.bundle)) throw new InvalidParameterError(`task ${spec.id} already exists`);

    const oci = await buildOciSpec(spec.config, {
      id: spec.id,
      rootfs: spec.rootfs,
      cgroupVersion: this.cgroupVersion,
      cgroupParent: this.o.cgroupParent,
      initPath: this.o.initPath,
      kernelRelease: release(),
      sysctlExists: (name) => existsSync(join('/proc/sys', name.replaceAll('.', '/'))),
      rlimitCeiling: this.rlimitCeiling,
    });
    const rendered = renderLxcConfig(oci, spec.config, { cgroupVersion: this.cgroupVersion, shimPath: this.o.shimPath, seccompPath: files.seccomp, sysctlPath: files.sysctl, swapAccounting: this.swapAccounting });
    await checkCommand(spec.rootfs, oci.process.args[0] ?? '', oci.process.env, spec.config.Mounts ?? []);
    await ensureWorkingDir(spec.rootfs, oci.process.cwd, oci.process.user.uid, oci.process.user.gid);

    const cfg = spec.config.Config;
    const terminal = oci.process.terminal === true;
    const stdin = cfg.OpenStdin === true || spec.io.stdin !== undefined;
    const record: LxcTaskRecord = {
      id: spec.id,
      runtime,
      command: oci.process.args[0] ?? '',
      terminal,
      stdin,
      user: cfg.User,
      rootfs: spec.rootfs,
      cgroupVersion: this.cgroupVersion,
      pid: 0,
      holderPid: 0,
      monitorPid: 0,
      created: new Date().toISOString(),
      tools: this.o.tools,
    };
    await mkdir(files.bundle, { recursive: true, mode: 0o711 });
    await mkdir(files.exitsDir, { recursive: true });
    await mkdir(files.lxcPath, { recursive: true, mode: 0o711 });
    await mkdir(files.spool, { recursive: true, mode: 0o700 });
    await writeFile(files.spec, JSON.stringify(oci));
    await writeFile(files.config, rendered.config);
    if (rendered.seccomp) await writeFile(files.seccomp, rendered.seccomp);
    if (rendered.sysctl) await writeFile(files.sysctl, rendered.sysctl);
    await writeFile(files.output, '', { mode: 0o600 });
    execFileSync('mkfifo', ['-m', '600', files.gate]);
    if (terminal && !stdin) execFileSync('mkfifo', ['-m', '600', files.holdFifo]);
    const lxcStart = [this.o.tools.start, '-F', '-q', '-n', spec.id, '-P', files.lxcPath, '-f', files.config, '-o', files.lxcLog, '-l', 'INFO', '--', ...oci.process.args];
    const scripts = startScript({ fifo: files.gate, lxcStart, terminal, stdin, ttyFile: files.tty, holdFifo: files.holdFifo, consoleSize: oci.process.consoleSize });
    await writeFile(files.startScript, scripts.main);
    if (scripts.tty) await writeFile(`${files.tty}.sh`, scripts.tty);
    try {
      const started = await launchMonitor({
        conmonPath: this.o.conmonPath,
        runtimePath: this.o.shimPath,
        runtimeArgs: [],
        containerId: spec.id,
        sessionId: spec.id,
        dir: files.bundle,
        pidFile: files.holderPid,
        conmonPidFile: files.monitorPid,
        logPath: files.output,
        exitDir: files.exitsDir,
        terminal: false, // a TTY is LXC's console behind `script` (launch-scripts.ts); conmon holds pipes
        stdin,
        leaveStdinOpen: !(spec.io.stdinOnce ?? cfg.StdinOnce ?? false),
      });
      record.holderPid = started.pid;
      record.monitorPid = started.monitorPid;
    } catch (err) {
      await rm(files.bundle, { recursive: true, force: true });
      await rm(files.spool, { recursive: true, force: true });
      throw translateStartError(record.command, err);
    }
    await writeFile(`${files.record}.tmp`, JSON.stringify(record, null, 1));
    await rename(`${files.record}.tmp`, files.record);
    const task = this.newTask(files, record, 'created');
    await task.connect(spec.io, 'start');
    return task;
  }

  private newTask(files: LxcFiles, record: LxcTaskRecord, status: TaskStatus): LxcTask {
    const task = new LxcTask(files, record, {
      conmonPath: this.o.conmonPath,
      shimPath: this.o.shimPath,
      socatPath: this.o.socatPath,
      swapAccounting: this.swapAccounting,
      forget: (id) => this.tasks.delete(id),
    }, status);
    this.tasks.set(record.id, task);
    return task;
  }

  async list(): Promise<string[]> {
    try {
      return readdirSync(join(this.o.stateDir, 'tasks')).filter((id) => existsSync(new LxcFiles(this.o.stateDir, this.o.spoolDir, id).record));
    } catch {
      return [];
    }
  }

  async restore(id: string, io?: TaskIO): Promise<Task | undefined> {
    const known = this.tasks.get(id);
    if (known) {
      await known.connect(io, 'end');
      return known;
    }
    const files = new LxcFiles(this.o.stateDir, this.o.spoolDir, id);
    let record: LxcTaskRecord;
    try {
      record = JSON.parse(await readFile(files.record, 'utf8')) as LxcTaskRecord;
    } catch {
      return undefined;
    }
    let status: TaskStatus = 'stopped';
    if (!(await readExit(files.exit))) {
      if (record.pid === 0) status = 'created';
      else {
        const st = await new LxcCli(record.tools, id, files.lxcPath).state().catch(() => undefined);
        status = st === 'STOPPED' || st === undefined ? 'stopped' : 'running';
        if (status === 'running' && (st === 'FROZEN' || (await isFrozen(record.pid, record.cgroupVersion)))) status = 'paused';
        // LXC may already have forgotten a container whose exit conmon has not written yet.
        if (status === 'stopped' && !(await readExit(files.exit))) status = 'running';
      }
    }
    const task = this.newTask(files, record, status);
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

/** `-w` is created if missing, owned by the process user (moby SetupWorkingDirectory). */
async function ensureWorkingDir(rootfs: string, cwd: string, uid: number, gid: number): Promise<void> {
  if (!cwd || cwd === '/') return;
  const path = await resolveInRoot(rootfs, cwd);
  if (existsSync(path)) return;
  const parts = path.slice(rootfs.length).split('/').filter(Boolean);
  let cur = rootfs;
  for (const p of parts) {
    cur = join(cur, p);
    if (existsSync(cur)) continue;
    await mkdir(cur, { mode: 0o755 });
    await chown(cur, uid, gid).catch(() => undefined);
  }
}
