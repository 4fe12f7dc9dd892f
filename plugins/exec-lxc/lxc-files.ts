import { join } from 'node:path';

/**
 * Where an exec-lxc task's files live. As exec-libcontainer: small state,
 * sockets and FIFOs in the exec root; the output spools under the data root.
 *
 *   <state>/lxc-shim                  the runtime conmon runs (shim-script.ts)
 *   <state>/lxcpath/                  LXC's -P (its command sockets are abstract)
 *   <state>/tasks/<id>/               conmon's directory for the task
 *       config seccomp sysctl config.json LXC configuration, its seccomp policy, the OCI spec it came from
 *       task.json                     what the task remembers (TaskRecord)
 *       start.sh  start-gate          the shim's script and the FIFO Task.start opens
 *       lxc.log                       lxc-start's log: init pid and exit status come from it
 *       holder.pid conmon.pid         pid conmon watches (start.sh → lxc-start), conmon's pid
 *       attach ctl winsz exit oom     conmon's files
 *       tty  tty.sh  stdin-hold       TTY only: the outer pty, its inner script, a held-open stdin FIFO
 *       exec/<exec-id>/               exec.sh, pid files, exit/<id>, attach, ctl, tty
 *   <state>/exits/<id>                exit status as conmon reports it (lxc-start's own)
 *   <spool>/<id>/output.log           init output, CRI format
 *   <spool>/<id>/exec-<exec-id>.log
 */
export class LxcFiles {
  constructor(readonly stateDir: string, readonly spoolDir: string, readonly id: string) {}

  get lxcPath(): string { return join(this.stateDir, 'lxcpath'); }
  get bundle(): string { return join(this.stateDir, 'tasks', this.id); }
  get config(): string { return join(this.bundle, 'config'); }
  get seccomp(): string { return join(this.bundle, 'seccomp'); }
  get sysctl(): string { return join(this.bundle, 'sysctl'); }
  get spec(): string { return join(this.bundle, 'config.json'); }
  get record(): string { return join(this.bundle, 'task.json'); }
  get startScript(): string { return join(this.bundle, 'start.sh'); }
  get gate(): string { return join(this.bundle, 'start-gate'); }
  get lxcLog(): string { return join(this.bundle, 'lxc.log'); }
  get holderPid(): string { return join(this.bundle, 'holder.pid'); }
  get monitorPid(): string { return join(this.bundle, 'conmon.pid'); }
  get attach(): string { return join(this.bundle, 'attach'); }
  get ctl(): string { return join(this.bundle, 'ctl'); }
  get exit(): string { return join(this.bundle, 'exit'); }
  get tty(): string { return join(this.bundle, 'tty'); }
  get holdFifo(): string { return join(this.bundle, 'stdin-hold'); }
  get exitsDir(): string { return join(this.stateDir, 'exits'); }
  get sharedExit(): string { return join(this.exitsDir, this.id); }
  get spool(): string { return join(this.spoolDir, this.id); }
  get output(): string { return join(this.spool, 'output.log'); }

  execDir(execId: string): string { return join(this.bundle, 'exec', execId); }
  execOutput(execId: string): string { return join(this.spool, `exec-${execId}.log`); }
}

/** What an exec-lxc task remembers across daemon restarts (task.json). */
export interface LxcTaskRecord {
  id: string;
  runtime: string;
  /** argv[0] of the container process, for dockerd's 127/126 translation. */
  command: string;
  terminal: boolean;
  stdin: boolean;
  /** `-u` of the container: the default user of exec processes. */
  user?: string;
  rootfs: string;
  cgroupVersion: '1' | '2';
  /** Host pid of the container's init (pid 1 inside); 0 until started. */
  pid: number;
  /** The process conmon watches: start.sh, then lxc-start (or `script` for a TTY). */
  holderPid: number;
  monitorPid: number;
  created: string;
  /** Paths of the LXC tools, as found when the task was created. */
  tools: LxcTools;
}

export interface LxcTools {
  start: string;
  attach: string;
  info: string;
  stop: string;
  freeze: string;
  unfreeze: string;
  cgroup: string;
  /** lxc-wait; absent in records written before it was used. */
  wait?: string;
}
