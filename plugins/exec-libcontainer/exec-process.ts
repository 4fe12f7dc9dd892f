import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, type ConsoleSize, type ExitStatus, type OutputSpool, type Process, type TaskIO } from '../../kernel/index.js';
import { launchMonitor } from './conmon-monitor.js';
import { waitForExit } from './exit-watch.js';
import type { OciProcess } from './oci-types.js';
import { connectIo, resizeTerminal, type IoConnection, type ProcessEndpoints } from './process-io.js';
import { translateStartError } from './start-errors.js';
import type { TaskRecord } from './task-files.js';
import { signalName } from './signals.js';

/** What an exec process needs from its task and driver. */
export interface ExecContext {
  record: TaskRecord;
  dir: string;
  spool: string;
  conmonPath: string;
  socatPath?: string;
}

/**
 * A `docker exec` process: its own conmon (`conmon -e`, which runs
 * `runc exec --detach`), its own spool, exit file and attach socket, all in
 * `exec/<exec-id>/` of the task. Created by Task.exec, run by start().
 */
export class ExecProcess implements Process {
  pid = 0;
  private exitPromise?: Promise<ExitStatus>;
  private readonly ios: IoConnection[] = [];
  private started = false;
  private monitorPid = 0;

  constructor(
    readonly id: string,
    private readonly spec: OciProcess,
    private readonly io: TaskIO,
    private readonly ctx: ExecContext,
  ) {}

  get output(): OutputSpool {
    return { path: this.ctx.spool, format: 'cri' };
  }

  private get endpoints(): ProcessEndpoints {
    return { spool: this.ctx.spool, attachSocket: join(this.ctx.dir, 'attach'), ctl: join(this.ctx.dir, 'ctl'), terminal: this.spec.terminal === true, stdin: this.io.stdin !== undefined, socatPath: this.ctx.socatPath };
  }

  async start(): Promise<void> {
    if (this.started) throw new ConflictError(`exec ${this.id} is already started`);
    this.started = true;
    await mkdir(join(this.ctx.dir, 'exit'), { recursive: true });
    const specPath = join(this.ctx.dir, 'process.json');
    await writeFile(specPath, JSON.stringify(this.spec));
    const r = this.ctx.record;
    try {
      const got = await launchMonitor({
        conmonPath: this.ctx.conmonPath,
        runtimePath: r.runtimePath,
        runtimeArgs: [...r.runtimeArgs, '--root', r.runtimeRoot],
        containerId: r.id,
        sessionId: this.id,
        dir: this.ctx.dir,
        pidFile: join(this.ctx.dir, 'pid'),
        conmonPidFile: join(this.ctx.dir, 'conmon.pid'),
        logPath: this.ctx.spool,
        exitDir: join(this.ctx.dir, 'exit'),
        terminal: this.spec.terminal === true,
        stdin: this.io.stdin !== undefined,
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
      process.kill(this.pid, /^\d+$/.test(sig) ? Number(sig) : sig);
    } catch {
      throw new ConflictError('process already finished');
    }
  }

  resize(size: ConsoleSize): Promise<void> {
    return resizeTerminal(this.endpoints, size);
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
