import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, type ConsoleSize, type ExitStatus, type OutputSpool, type Process, type TaskIO } from '../../kernel/index.js';
import { launchMonitor } from '../exec-libcontainer/conmon-monitor.js';
import { waitForExit } from '../exec-libcontainer/exit-watch.js';
import type { OciProcess } from '../exec-libcontainer/oci-types.js';
import { connectIo, type IoConnection, type ProcessEndpoints } from '../exec-libcontainer/process-io.js';
import { signalName } from '../exec-libcontainer/signals.js';
import { translateStartError } from '../exec-libcontainer/start-errors.js';
import type { ConmonTaskRecord } from './task-layout.js';

/** What an exec process needs from its task and driver. */
export interface ConmonExecContext<R extends ConmonTaskRecord = ConmonTaskRecord> {
  record: R;
  /** The exec's monitor directory: `exec/<exec-id>/` of the task. */
  dir: string;
  spool: string;
  conmonPath: string;
  socatPath?: string;
}

/** How conmon is to run an exec: the runtime it calls with `exec --detach` and the process file it passes. */
export interface ExecLaunch {
  runtimePath: string;
  runtimeArgs: string[];
  /** `conmon --exec-process-spec`. */
  execProcessSpec: string;
  /** Whether conmon itself allocates the pty (`-t`). */
  terminal: boolean;
}

/**
 * A `docker exec` process: its own conmon (`conmon -e`), its own spool, exit
 * file and attach socket, all in `exec/<exec-id>/` of the task. Created by
 * Task.exec, run by start(). What conmon runs — the runtime's exec, or a
 * script — comes from the subclass (`prepareLaunch`).
 */
export abstract class ConmonExecProcess<R extends ConmonTaskRecord = ConmonTaskRecord, C extends ConmonExecContext<R> = ConmonExecContext<R>> implements Process {
  pid = 0;
  private exitPromise?: Promise<ExitStatus>;
  private readonly ios: IoConnection[] = [];
  private started = false;
  private monitorPid = 0;

  constructor(
    readonly id: string,
    protected readonly spec: OciProcess,
    protected readonly io: TaskIO,
    protected readonly ctx: C,
  ) {}

  get output(): OutputSpool {
    return { path: this.ctx.spool, format: 'cri' };
  }

  protected get endpoints(): ProcessEndpoints {
    return { spool: this.ctx.spool, attachSocket: join(this.ctx.dir, 'attach'), ctl: join(this.ctx.dir, 'ctl'), terminal: this.spec.terminal === true, stdin: this.io.stdin !== undefined, socatPath: this.ctx.socatPath };
  }

  /** Writes what conmon will run into the exec's directory (it exists) and says how to run it. */
  protected abstract prepareLaunch(): Promise<ExecLaunch>;
  abstract resize(size: ConsoleSize): Promise<void>;

  async start(): Promise<void> {
    if (this.started) throw new ConflictError(`exec ${this.id} is already started`);
    this.started = true;
    await mkdir(join(this.ctx.dir, 'exit'), { recursive: true });
    const launch = await this.prepareLaunch();
    try {
      const got = await launchMonitor({
        conmonPath: this.ctx.conmonPath,
        runtimePath: launch.runtimePath,
        runtimeArgs: launch.runtimeArgs,
        containerId: this.ctx.record.id,
        sessionId: this.id,
        dir: this.ctx.dir,
        pidFile: join(this.ctx.dir, 'pid'),
        conmonPidFile: join(this.ctx.dir, 'conmon.pid'),
        logPath: this.ctx.spool,
        exitDir: join(this.ctx.dir, 'exit'),
        terminal: launch.terminal,
        stdin: this.io.stdin !== undefined,
        leaveStdinOpen: false,
        execProcessSpec: launch.execProcessSpec,
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
      // The pid conmon reports is the one the runtime started: the process itself, or a
      // wrapper that forwards signals to it (lxc-attach).
      process.kill(this.pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    } catch {
      throw new ConflictError('process already finished');
    }
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

  /** Stops following output (driver dispose); the process itself is untouched. */
  detachAll(): void {
    for (const c of this.ios.splice(0)) c.detach();
  }
}
