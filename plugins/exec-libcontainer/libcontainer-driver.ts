import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import {
  InvalidParameterError,
  NotFoundError,
  type ExecCapability,
  type ExecDriver,
  type Logger,
  type RuntimeInfo,
  type Task,
  type TaskIO,
  type TaskSpec,
  type TaskStatus,
} from '../../kernel/index.js';
import { launchMonitor } from './conmon-monitor.js';
import { readExit } from './exit-watch.js';
import { buildOciSpec } from './oci-spec.js';
import { OciTask } from './oci-task.js';
import { daemonRlimitCeiling } from './rlimits.js';
import { resolveInRoot } from './rootfs-path.js';
import { RuntimeCli } from './runc-cli.js';
import { translateStartError } from './start-errors.js';
import { TaskFiles, type TaskRecord } from './task-files.js';

export interface RuntimeSpec {
  path: string;
  args?: string[];
}

export interface LibcontainerOptions {
  /** Bundles, sockets, exit files: `<exec-root>/exec-libcontainer`. */
  stateDir: string;
  /** Output spools: on disk, under the data root. */
  spoolDir: string;
  /** Runtime state roots are `<runtimeRoot>/<name>` (`<exec-root>/runtime`). */
  runtimeRoot: string;
  /** Runtime name → binary; `runc` plus daemon.json `runtimes`. */
  runtimes: Record<string, RuntimeSpec>;
  defaultRuntime: string;
  conmonPath: string;
  /** Bridges stdin to conmon's SEQPACKET socket; without it stdin is unavailable. */
  socatPath?: string;
  /** daemon.json `cgroup-parent`. */
  cgroupParent?: string;
  /** Host docker-init for `--init`. */
  initPath?: string;
  log?: Logger;
}

/**
 * exec-libcontainer: runs containers with an OCI runtime (runc, crun, any
 * runtime with runc's command line) under conmon. `create` writes the bundle
 * (config.json from `buildOciSpec`) and task.json, then conmon runs
 * `<runtime> create`; everything later goes through the runtime CLI with the
 * runtime recorded in task.json, so a task keeps its runtime across reloads
 * and restarts. Disposing the driver leaves tasks and monitors running.
 */
export class LibcontainerDriver implements ExecDriver {
  readonly capabilities: ReadonlySet<ExecCapability>;
  private readonly tasks = new Map<string, OciTask>();
  private readonly cgroupVersion: '1' | '2';
  private readonly rlimitCeiling = daemonRlimitCeiling();
  private disposed = false;

  constructor(private readonly o: LibcontainerOptions) {
    if (!o.runtimes[o.defaultRuntime]) throw new InvalidParameterError(`specified default runtime '${o.defaultRuntime}' does not exist`);
    this.cgroupVersion = detectCgroupVersion();
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

  async create(spec: TaskSpec): Promise<Task> {
    if (this.disposed) throw new InvalidParameterError('exec driver is disposed');
    const runtime = spec.runtime || this.o.defaultRuntime;
    const rt = this.o.runtimes[runtime];
    if (!rt) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.id)) throw new InvalidParameterError(`invalid task id: ${spec.id}`);
    if (this.tasks.has(spec.id) || existsSync(join(this.o.stateDir, 'tasks', spec.id))) throw new InvalidParameterError(`task ${spec.id} already exists`);
    const files = new TaskFiles(this.o.stateDir, this.o.spoolDir, spec.id);
    const cli = this.cli(runtime, rt);

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
    await ensureWorkingDir(spec.rootfs, oci.process.cwd, oci.process.user.uid, oci.process.user.gid);

    const cfg = spec.config.Config;
    const stdin = cfg.OpenStdin === true || spec.io.stdin !== undefined;
    const record: TaskRecord = {
      id: spec.id,
      runtime,
      runtimePath: rt.path,
      runtimeArgs: rt.args ?? [],
      runtimeRoot: cli.root,
      command: oci.process.args[0] ?? '',
      terminal: oci.process.terminal === true,
      stdin,
      user: cfg.User,
      rootfs: spec.rootfs,
      cgroupVersion: this.cgroupVersion,
      pid: 0,
      monitorPid: 0,
      created: new Date().toISOString(),
    };
    await mkdir(files.bundle, { recursive: true, mode: 0o711 });
    await mkdir(files.exitsDir, { recursive: true });
    await mkdir(files.spool, { recursive: true, mode: 0o700 });
    await mkdir(cli.root, { recursive: true, mode: 0o700 });
    await writeFile(files.config, JSON.stringify(oci));
    await writeFile(files.output, '', { mode: 0o600 });
    try {
      const started = await launchMonitor({
        conmonPath: this.o.conmonPath,
        runtimePath: rt.path,
        runtimeArgs: cli.globalArgs(),
        containerId: spec.id,
        sessionId: spec.id,
        dir: files.bundle,
        pidFile: files.initPid,
        conmonPidFile: files.monitorPid,
        logPath: files.output,
        exitDir: files.exitsDir,
        terminal: record.terminal,
        stdin,
        leaveStdinOpen: !(spec.io.stdinOnce ?? cfg.StdinOnce ?? false),
      });
      record.pid = started.pid;
      record.monitorPid = started.monitorPid;
    } catch (err) {
      await cli.delete(spec.id, true).catch(() => undefined);
      await rm(files.bundle, { recursive: true, force: true });
      await rm(files.spool, { recursive: true, force: true });
      throw translateStartError(record.command, err);
    }
    await writeFile(files.record, JSON.stringify(record, null, 1));
    const task = new OciTask(files, record, { cli, conmonPath: this.o.conmonPath, socatPath: this.o.socatPath, forget: (id) => this.tasks.delete(id) }, 'created');
    this.tasks.set(spec.id, task);
    await task.connect(spec.io, 'start');
    return task;
  }

  async list(): Promise<string[]> {
    try {
      return readdirSync(join(this.o.stateDir, 'tasks')).filter((id) => existsSync(new TaskFiles(this.o.stateDir, this.o.spoolDir, id).record));
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
    const files = new TaskFiles(this.o.stateDir, this.o.spoolDir, id);
    let record: TaskRecord;
    try {
      record = JSON.parse(await readFile(files.record, 'utf8')) as TaskRecord;
    } catch {
      return undefined;
    }
    // The runtime recorded at create, even if daemon.json no longer names it.
    const cli = new RuntimeCli(record.runtime, record.runtimePath, record.runtimeRoot, record.runtimeArgs);
    let status: TaskStatus = 'stopped';
    if (!(await readExit(files.exit))) {
      const st = await cli.state(id).catch((err: Error) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      status = !st || st.status === 'stopped' ? 'stopped' : st.status === 'creating' ? 'created' : st.status;
    }
    const task = new OciTask(files, record, { cli, conmonPath: this.o.conmonPath, socatPath: this.o.socatPath, forget: (id) => this.tasks.delete(id) }, status);
    this.tasks.set(id, task);
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

/** cgroup v2 when /sys/fs/cgroup is the unified hierarchy (hybrid hosts count as v1, as runc sees them). */
export function detectCgroupVersion(): '1' | '2' {
  try {
    return statfsSync('/sys/fs/cgroup').type === 0x63677270 ? '2' : '1';
  } catch {
    return '1';
  }
}

/** `-w` is created if missing, owned by the process user (moby SetupWorkingDirectory). */
async function ensureWorkingDir(rootfs: string, cwd: string, uid: number, gid: number): Promise<void> {
  if (!cwd || cwd === '/') return;
  const path = await resolveInRoot(rootfs, cwd);
  if (existsSync(path)) return;
  const { chown } = await import('node:fs/promises');
  const parts = path.slice(rootfs.length).split('/').filter(Boolean);
  let cur = rootfs;
  for (const p of parts) {
    cur = join(cur, p);
    if (existsSync(cur)) continue;
    await mkdir(cur, { mode: 0o755 });
    await chown(cur, uid, gid).catch(() => undefined);
  }
}
