import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import {
  ConflictError,
  NotFoundError,
  SystemError,
  TaskStartError,
  type ConsoleSize,
  type ExecProcessConfig,
  type ExitStatus,
  type Resources,
  type TaskIO,
  type TaskStatus,
} from '../../kernel/index.js';
import { ConmonTask, saveRecord, type ConmonTaskDeps } from '../conmon-task/index.js';
import { readExit } from '../exec-libcontainer/exit-watch.js';
import { ociResources } from '../exec-libcontainer/oci-resources.js';
import type { OciSpec } from '../exec-libcontainer/oci-types.js';
import { cgroupSettings } from './lxc-config.js';
import { LxcCli } from './lxc-cli.js';
import { LxcExecProcess } from './lxc-exec-process.js';
import type { LxcFiles, LxcTaskRecord } from './lxc-files.js';
import { readLxcLog } from './lxc-log.js';
import { setFrozen } from './freezer.js';
import { resizeTty } from './tty-size.js';

export interface LxcTaskDeps extends ConmonTaskDeps {
  shimPath: string;
  swapAccounting?: boolean;
}

/**
 * A container run by LXC, in containerd's task states (created → running ⇄
 * paused → stopped; the state machine, streams and exit watching are
 * conmon-task's). `created` is start.sh blocked on its start gate under
 * conmon; start() opens the gate, start.sh becomes `lxc-start -F`, and the
 * init's host pid is read from lxc-start's log. Signals go to that pid (what
 * lxc-kill did; SIGKILL through `lxc-stop --kill`), pause/resume are
 * lxc-freeze/lxc-unfreeze, the exit status is conmon's exit file corrected by
 * the status lxc-start logged (see lxc-log.ts).
 */
export class LxcTask extends ConmonTask<LxcFiles, LxcTaskRecord, LxcTaskDeps> {
  private readonly cli: LxcCli;

  constructor(files: LxcFiles, record: LxcTaskRecord, deps: LxcTaskDeps, initial: TaskStatus) {
    super(files, record, deps, initial);
    this.cli = new LxcCli(record.tools, record.id, files.lxcPath);
  }

  /** conmon saw lxc-start's status; the init's own is in lxc-start's log. */
  protected override correctExit(e: ExitStatus): Promise<ExitStatus> {
    return correctExit(e, this.files.lxcLog);
  }

  /** The stop hook's marker (shim-script.ts), not conmon's: conmon watches start.sh's cgroup, not the container's. */
  protected override get oomFile(): string { return this.files.oom; }

  protected async launch(): Promise<void> {
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
    await saveRecord(this.files, this.record);
  }

  protected async signal(sig: string, s: TaskStatus): Promise<void> {
    if (s === 'created') {
      // Not started: end the waiting start.sh, so conmon records the exit.
      try { process.kill(this.record.holderPid, 'SIGKILL'); } catch { /* gone */ }
      return;
    }
    try {
      if (sig === 'SIGKILL') await this.cli.kill();
      else process.kill(this.record.pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH' || err instanceof NotFoundError) throw new ConflictError('process already finished', { cause: err });
      throw err;
    }
  }

  protected async freeze(): Promise<void> {
    await this.cli.freeze().catch(() => setFrozen(this.pid, this.record.cgroupVersion, true));
  }

  protected async thaw(): Promise<void> {
    await this.cli.unfreeze().catch(() => setFrozen(this.pid, this.record.cgroupVersion, false));
  }

  protected forceKill(): Promise<void> {
    return this.kill('SIGKILL');
  }

  protected async applyResources(resources: Resources, s: TaskStatus): Promise<void> {
    if (s === 'created') throw new ConflictError(`container ${this.id} is not running`);
    for (const [key, value] of cgroupSettings(ociResources(resources), { cgroupVersion: this.record.cgroupVersion, swapAccounting: this.deps.swapAccounting })) {
      await this.cli.setCgroup(key, value);
    }
  }

  protected async listPids(): Promise<number[]> {
    if (this.pid === 0) return [];
    return cgroupProcs(this.pid, this.record.cgroupVersion);
  }

  protected newExec(execId: string, spec: OciSpec, config: ExecProcessConfig, io: TaskIO): Promise<LxcExecProcess> {
    return LxcExecProcess.prepare(execId, spec, config, io, {
      record: this.record,
      lxcPath: this.files.lxcPath,
      dir: this.files.execDir(execId),
      spool: this.files.execOutput(execId),
      conmonPath: this.deps.conmonPath,
      shimPath: this.deps.shimPath,
      socatPath: this.deps.socatPath,
    });
  }

  resize(size: ConsoleSize): Promise<void> {
    if (!this.record.terminal) return Promise.reject(new ConflictError('the process has no terminal'));
    return resizeTty(this.files.tty, size);
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
