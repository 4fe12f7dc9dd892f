import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import {
  ConflictError,
  InvalidParameterError,
  NotFoundError,
  SystemError,
  TaskStartError,
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
import { readCgroupStats } from '../exec-libcontainer/cgroup-stats.js';
import { readExit, waitForExit } from '../exec-libcontainer/exit-watch.js';
import { ociResources } from '../exec-libcontainer/oci-resources.js';
import type { OciSpec } from '../exec-libcontainer/oci-types.js';
import { connectIo, type IoConnection, type ProcessEndpoints } from '../exec-libcontainer/process-io.js';
import { signalName } from '../exec-libcontainer/signals.js';
import { cgroupSettings } from './lxc-config.js';
import { LxcCli } from './lxc-cli.js';
import { LxcExecProcess } from './lxc-exec-process.js';
import type { LxcFiles, LxcTaskRecord } from './lxc-files.js';
import { readLxcLog } from './lxc-log.js';
import { isFrozen, setFrozen } from './freezer.js';
import { resizeTty } from './tty-size.js';

export interface LxcTaskDeps {
  conmonPath: string;
  shimPath: string;
  socatPath?: string;
  swapAccounting?: boolean;
  forget?(id: string): void;
}

/**
 * A container run by LXC, in containerd's task states (created → running ⇄
 * paused → stopped). `created` is start.sh blocked on its start gate under
 * conmon; start() opens the gate, start.sh becomes `lxc-start -F`, and the
 * init's host pid is read from lxc-start's log. Signals go to that pid (what
 * lxc-kill did; SIGKILL through `lxc-stop --kill`), pause/resume are
 * lxc-freeze/lxc-unfreeze, the exit status is conmon's exit file corrected by
 * the status lxc-start logged (see lxc-log.ts).
 */
export class LxcTask implements Task {
  private state: TaskStatus;
  private deleted = false;
  private exitPromise?: Promise<ExitStatus>;
  private exit?: ExitStatus;
  private readonly ios: IoConnection[] = [];
  private readonly execs = new Map<string, LxcExecProcess>();
  private readonly abort = new AbortController();
  private readonly cli: LxcCli;

  constructor(readonly files: LxcFiles, readonly record: LxcTaskRecord, private readonly deps: LxcTaskDeps, initial: TaskStatus) {
    this.state = initial;
    this.cli = new LxcCli(record.tools, record.id, files.lxcPath);
  }

  get id(): string { return this.record.id; }
  get pid(): number { return this.record.pid; }
  get runtime(): string { return this.record.runtime; }
  get output(): OutputSpool { return { path: this.files.output, format: 'cri' }; }

  private get endpoints(): ProcessEndpoints {
    return { spool: this.files.output, attachSocket: this.files.attach, ctl: this.files.ctl, terminal: this.record.terminal, stdin: this.record.stdin, socatPath: this.deps.socatPath };
  }

  async connect(io: TaskIO | undefined, defaultFrom: 'start' | 'end'): Promise<void> {
    if (!io) return;
    const conn = await connectIo(this.endpoints, io, defaultFrom);
    this.ios.push(conn);
    void this.wait().then(() => conn.exited(), () => conn.detach());
  }

  /** The exit, when conmon has recorded one: lxc-start's status corrected by what LXC logged for the init. */
  private async exited(): Promise<ExitStatus | undefined> {
    const e = await readExit(this.files.exit);
    return e && correctExit(e, this.files.lxcLog);
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
    // Open the gate without blocking: with start.sh gone (killed) there is no reader.
    const gate = await openGate(this.files.gate, this.record.holderPid).catch((err: Error) => {
      throw new ConflictError(`container ${this.id} cannot start: its monitor is gone (${err.message})`);
    });
    try {
      await gate.write('start\n');
    } finally {
      await gate.close();
    }
    // lxc-start logs the init's pid once it is spawned; if lxc-start ends first, the start failed.
    for (let i = 0; ; i++) {
      const ended = (await readExit(this.files.exit)) !== undefined;
      // Read after the exit check: a quick container may have started and ended in between.
      const facts = await readLxcLog(this.files.lxcLog);
      if (facts.initPid) {
        this.record.pid = facts.initPid;
        // LXC logs the pid just before it marks the container RUNNING; lxc-attach (docker exec)
        // refuses a container that is not RUNNING yet, so start returns once LXC says so.
        if (!ended) await this.cli.waitFor('RUNNING|STOPPED', 30).catch(() => undefined);
        break;
      }
      if (ended) {
        const why = facts.errors.filter((e) => !/failed to start|Additional information|foreground mode/i.test(e)).slice(-3).join('; ');
        this.state = 'stopped';
        if (/Failed to exec/i.test(why)) throw new TaskStartError(`exec-lxc: ${why}`, /Permission denied/i.test(why) ? 126 : 127);
        throw new SystemError(`exec-lxc: lxc-start failed: ${why || 'see the LXC log'}`);
      }
      if (i > 6000) throw new SystemError(`exec-lxc: container ${this.id} did not start within 60 s`);
      await new Promise((r) => setTimeout(r, i < 50 ? 10 : 50));
    }
    await writeFile(`${this.files.record}.tmp`, JSON.stringify(this.record, null, 1));
    await rename(`${this.files.record}.tmp`, this.files.record);
    this.state = 'running';
  }

  async kill(signal: string | number): Promise<void> {
    const s = await this.status();
    const sig = signalName(signal);
    if (s === 'stopped') throw new ConflictError('process already finished');
    if (s === 'created') {
      // Not started: end the waiting start.sh, so conmon records the exit.
      try { process.kill(this.record.holderPid, 'SIGKILL'); } catch { /* gone */ }
      return;
    }
    try {
      if (sig === 'SIGKILL') await this.cli.kill();
      else process.kill(this.record.pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    } catch (err) {
      if (await this.exited()) throw new ConflictError('process already finished', { cause: err });
      if ((err as NodeJS.ErrnoException).code === 'ESRCH' || err instanceof NotFoundError) throw new ConflictError('process already finished', { cause: err });
      throw err;
    }
  }

  async pause(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot pause task in created state');
    if (s === 'paused') throw new ConflictError('cannot pause a paused container');
    if (s === 'stopped') throw new ConflictError('cannot pause a stopped container');
    await this.cli.freeze().catch(() => setFrozen(this.pid, this.record.cgroupVersion, true));
    this.state = 'paused';
  }

  async resume(): Promise<void> {
    const s = await this.status();
    if (s === 'created') throw new ConflictError('cannot resume task in created state');
    if (s === 'running') throw new ConflictError('cannot resume a running process');
    if (s === 'stopped') throw new ConflictError('cannot resume a stopped container');
    await this.cli.unfreeze().catch(() => setFrozen(this.pid, this.record.cgroupVersion, false));
    this.state = 'running';
  }

  resize(size: ConsoleSize): Promise<void> {
    if (!this.record.terminal) return Promise.reject(new ConflictError('the process has no terminal'));
    return resizeTty(this.files.tty, size);
  }

  wait(): Promise<ExitStatus> {
    this.exitPromise ??= waitForExit(this.files.exit, { monitorPid: this.record.monitorPid, signal: this.abort.signal })
      .then((e) => correctExit(e, this.files.lxcLog))
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
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(execId)) throw new InvalidParameterError(`invalid exec id: ${execId}`);
    if (this.execs.has(execId)) throw new ConflictError(`exec ${execId} already exists`);
    const spec = JSON.parse(await readFile(this.files.spec, 'utf8')) as OciSpec;
    const p = await LxcExecProcess.prepare(execId, spec, config, io, {
      record: this.record,
      lxcPath: this.files.lxcPath,
      dir: this.files.execDir(execId),
      spool: this.files.execOutput(execId),
      conmonPath: this.deps.conmonPath,
      shimPath: this.deps.shimPath,
      socatPath: this.deps.socatPath,
    });
    this.execs.set(execId, p);
    return p;
  }

  async pids(): Promise<number[]> {
    const s = await this.status();
    if (s === 'stopped' || this.pid === 0) return [];
    return cgroupProcs(this.pid, this.record.cgroupVersion);
  }

  async stats(): Promise<TaskStats> {
    const s = await this.status();
    if (s === 'stopped' || this.pid === 0) throw new ConflictError(`container ${this.id} is not running`);
    return readCgroupStats(this.pid, this.record.cgroupVersion);
  }

  async update(resources: Resources): Promise<void> {
    const s = await this.status();
    if (s === 'stopped') throw new ConflictError('cannot update a stopped container');
    if (s === 'created') throw new ConflictError(`container ${this.id} is not running`);
    for (const [key, value] of cgroupSettings(ociResources(resources), { cgroupVersion: this.record.cgroupVersion, swapAccounting: this.deps.swapAccounting })) {
      await this.cli.setCgroup(key, value);
    }
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    if (this.deleted) return;
    const s = await this.status();
    if (s === 'running' && !opts.force) throw new ConflictError('cannot delete a running process');
    if (s === 'paused' && !opts.force) throw new ConflictError('cannot delete a paused process');
    if (s !== 'stopped') {
      await this.kill('SIGKILL').catch(() => undefined);
      if (s === 'paused') await this.cli.unfreeze().catch(() => setFrozen(this.pid, this.record.cgroupVersion, false)).catch(() => undefined);
      await this.wait().catch(() => undefined);
    }
    this.deleted = true;
    this.deps.forget?.(this.id);
    this.release();
    await rm(this.files.bundle, { recursive: true, force: true });
    await rm(this.files.sharedExit, { force: true });
    await rm(this.files.spool, { recursive: true, force: true });
  }

  /** Stops watching and following (driver dispose): the container and its monitor keep running. */
  release(): void {
    for (const c of this.ios.splice(0)) c.detach();
    for (const e of this.execs.values()) e.detachAll();
    if (this.exit === undefined) this.abort.abort();
  }

  private assertNotDeleted(): void {
    if (this.deleted) throw new NotFoundError(`task ${this.id} not found`);
  }
}

/**
 * Opens the start gate for writing without blocking. Right after create,
 * start.sh may not have opened its end yet (ENXIO): retry while it lives.
 */
async function openGate(path: string, holderPid: number) {
  for (let i = 0; ; i++) {
    try {
      return await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO' || i > 1000 || !alive(holderPid)) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** conmon saw lxc-start's (or `script`'s) status; the init's own is in lxc-start's log. */
export async function correctExit(e: ExitStatus, lxcLog: string): Promise<ExitStatus> {
  const facts = await readLxcLog(lxcLog);
  if (facts.exitCode !== undefined) return { ...e, exitCode: facts.exitCode };
  return e;
}

/** Every pid in the container's cgroup, found through the init's /proc/<pid>/cgroup. */
async function cgroupProcs(pid: number, version: '1' | '2'): Promise<number[]> {
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n');
  let path: string | undefined;
  for (const line of lines) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (version === '2' ? m[1] === '' : m[1]!.split(',').includes('pids')) path = version === '2' ? `/sys/fs/cgroup${m[2]}` : `/sys/fs/cgroup/pids${m[2]}`;
  }
  if (!path) return [pid];
  // Read from berthd's (the host's) cgroup namespace, /proc/<pid>/cgroup has host paths.
  const text = await readFile(`${path}/cgroup.procs`, 'utf8').catch(() => undefined);
  if (text === undefined) return [pid];
  return text.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
}

export function runTool(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(tool, args, { timeout: 30_000 }, (err, out, stderr) => (err ? reject(new SystemError((stderr || err.message).trim())) : resolve(out))));
}
