import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, type ConsoleSize, type ExecProcessConfig, type ExitStatus, type OutputSpool, type Process, type TaskIO } from '../../kernel/index.js';
import { launchMonitor } from '../exec-libcontainer/conmon-monitor.js';
import { waitForExit } from '../exec-libcontainer/exit-watch.js';
import { buildExecProcess } from '../exec-libcontainer/oci-spec.js';
import type { OciProcess, OciSpec } from '../exec-libcontainer/oci-types.js';
import { connectIo, type IoConnection, type ProcessEndpoints } from '../exec-libcontainer/process-io.js';
import { resolveInRoot } from '../exec-libcontainer/rootfs-path.js';
import { signalName } from '../exec-libcontainer/signals.js';
import { translateStartError } from '../exec-libcontainer/start-errors.js';
import { execScript } from './launch-scripts.js';
import type { LxcTaskRecord } from './lxc-files.js';
import { checkCommand } from './look-path.js';
import { resizeTty } from './tty-size.js';

export interface LxcExecContext {
  record: LxcTaskRecord;
  lxcPath: string;
  dir: string;
  spool: string;
  conmonPath: string;
  shimPath: string;
  socatPath?: string;
}

/**
 * A `docker exec` in an LXC container: its own conmon (`conmon -e`), which
 * runs the shim's `exec`, which runs exec.sh, which becomes `lxc-attach`
 * into the container's namespaces, cgroup, capabilities and seccomp policy.
 * lxc-attach exits with the process's status (128+signal for a signal,
 * 127/126 when it cannot exec), so conmon's exit file is the exec's exit.
 *
 * Limits of lxc-attach: it has no working-directory option (it keeps its
 * caller's cwd), so a working directory other than / is entered with the
 * container's /bin/sh (`cd DIR && exec CMD`) — an exec with a working
 * directory in a container without /bin/sh is refused; and it sets no
 * supplementary groups: the exec runs with the user's uid and gid only.
 */
export class LxcExecProcess implements Process {
  pid = 0;
  private exitPromise?: Promise<ExitStatus>;
  private readonly ios: IoConnection[] = [];
  private started = false;
  private monitorPid = 0;

  private constructor(
    readonly id: string,
    private readonly spec: OciProcess,
    private readonly argv: string[],
    private readonly io: TaskIO,
    private readonly ctx: LxcExecContext,
  ) {}

  static async prepare(id: string, container: OciSpec, config: ExecProcessConfig, io: TaskIO, ctx: LxcExecContext): Promise<LxcExecProcess> {
    const p = await buildExecProcess(container, config, ctx.record.rootfs, ctx.record.user);
    const argv = ['-n', ctx.record.id, '-P', ctx.lxcPath, '-q', '--clear-env'];
    for (const e of p.env) argv.push('-v', e);
    argv.push('-u', String(p.user.uid), '-g', String(p.user.gid));
    if (config.Privileged) argv.push('--elevated-privileges=CAP');
    argv.push('--');
    const cwd = p.cwd || '/';
    if (cwd !== '/') {
      if (!existsSync(await resolveInRoot(ctx.record.rootfs, '/bin/sh'))) {
        throw new InvalidParameterError(`exec-lxc: lxc-attach cannot set the working directory (${cwd}) and the container has no /bin/sh to enter it`);
      }
      argv.push('/bin/sh', '-c', 'cd "$1" || exit 1; shift; exec "$@"', 'sh', cwd);
    }
    argv.push(...p.args);
    return new LxcExecProcess(id, p, argv, io, ctx);
  }

  get output(): OutputSpool {
    return { path: this.ctx.spool, format: 'cri' };
  }

  private get endpoints(): ProcessEndpoints {
    return { spool: this.ctx.spool, attachSocket: join(this.ctx.dir, 'attach'), ctl: join(this.ctx.dir, 'ctl'), terminal: this.spec.terminal === true, stdin: this.io.stdin !== undefined, socatPath: this.ctx.socatPath };
  }

  async start(): Promise<void> {
    if (this.started) throw new ConflictError(`exec ${this.id} is already started`);
    this.started = true;
    const r = this.ctx.record;
    await checkCommand(r.rootfs, this.spec.args[0] ?? '', this.spec.env);
    await mkdir(join(this.ctx.dir, 'exit'), { recursive: true });
    const terminal = this.spec.terminal === true;
    const stdin = this.io.stdin !== undefined;
    const ttyFile = join(this.ctx.dir, 'tty');
    const holdFifo = join(this.ctx.dir, 'stdin-hold');
    if (terminal && !stdin) execFileSync('mkfifo', ['-m', '600', holdFifo]);
    const scripts = execScript({ lxcAttach: [r.tools.attach, ...this.argv], terminal, stdin, ttyFile, holdFifo, consoleSize: this.spec.consoleSize });
    const specPath = join(this.ctx.dir, 'exec.sh');
    await writeFile(specPath, scripts.main);
    if (scripts.tty) await writeFile(`${ttyFile}.sh`, scripts.tty);
    try {
      const got = await launchMonitor({
        conmonPath: this.ctx.conmonPath,
        runtimePath: this.ctx.shimPath,
        runtimeArgs: [],
        containerId: r.id,
        sessionId: this.id,
        dir: this.ctx.dir,
        pidFile: join(this.ctx.dir, 'pid'),
        conmonPidFile: join(this.ctx.dir, 'conmon.pid'),
        logPath: this.ctx.spool,
        exitDir: join(this.ctx.dir, 'exit'),
        terminal: false, // a TTY is made by `script` (launch-scripts.ts); conmon holds pipes
        stdin,
        leaveStdinOpen: false,
        execProcessSpec: specPath,
      });
      this.pid = got.pid;
      this.monitorPid = got.monitorPid;
    } catch (err) {
      throw translateStartError(this.spec.args[0] ?? '', err);
    }
    const conn = await connectIo(this.endpoints, this.io, 'start');
    this.ios.push(conn);
    void this.wait().then(() => conn.exited(), () => conn.detach());
  }

  async kill(signal: string | number): Promise<void> {
    if (!this.started || this.pid === 0) throw new ConflictError(`exec ${this.id} is not running`);
    try {
      const sig = signalName(signal);
      // The pid conmon holds is lxc-attach (or `script`); lxc-attach forwards signals to the process.
      process.kill(this.pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    } catch {
      throw new ConflictError('process already finished');
    }
  }

  resize(size: ConsoleSize): Promise<void> {
    if (this.spec.terminal !== true) return Promise.reject(new ConflictError('the process has no terminal'));
    return resizeTty(join(this.ctx.dir, 'tty'), size);
  }

  wait(): Promise<ExitStatus> {
    if (!this.started) return Promise.reject(new ConflictError(`exec ${this.id} is not started`));
    this.exitPromise ??= waitForExit(join(this.ctx.dir, 'exit', this.ctx.record.id), { monitorPid: this.monitorPid, pollMs: 500 });
    return this.exitPromise;
  }

  async attach(io: TaskIO): Promise<{ detach(): void }> {
    const conn = await connectIo(this.endpoints, io, 'end');
    this.ios.push(conn);
    void this.wait().then(() => conn.exited(), () => undefined);
    return { detach: () => conn.detach() };
  }

  detachAll(): void {
    for (const c of this.ios.splice(0)) c.detach();
  }
}
