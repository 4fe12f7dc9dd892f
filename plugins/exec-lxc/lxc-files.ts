import { join } from 'node:path';
import { ConmonTaskFiles, type ConmonTaskRecord } from '../conmon-task/index.js';

/**
 * Where an exec-lxc task's files live: conmon's layout
 * (conmon-task/task-layout.ts; config.json is the OCI spec the LXC
 * configuration was rendered from) plus LXC's own:
 *
 *   <state>/lxc-shim                  the runtime conmon runs (shim-script.ts)
 *   <state>/lxcpath/                  LXC's -P (its command sockets are abstract)
 *   <state>/tasks/<id>/
 *       config seccomp sysctl         LXC configuration, its seccomp policy, the sysctls the hook writes
 *       start.sh  start-gate          the shim's script and the FIFO Task.start opens
 *       lxc.log                       lxc-start's log: init pid and exit status come from it
 *       holder.pid                    pid conmon watches (start.sh → lxc-start)
 *       oom-lxc                       OOM-kill marker written by the stop hook (shim-script.ts)
 *       tty  tty.sh  stdin-hold       TTY only: the outer pty, its inner script, a held-open stdin FIFO
 *       exec/<exec-id>/               exec.sh and tty besides conmon's files
 *   <state>/exits/<id>                exit status as conmon reports it (lxc-start's own)
 */
export class LxcFiles extends ConmonTaskFiles {
  get lxcPath(): string { return join(this.stateDir, 'lxcpath'); }
  get config(): string { return join(this.bundle, 'config'); }
  get seccomp(): string { return join(this.bundle, 'seccomp'); }
  get sysctl(): string { return join(this.bundle, 'sysctl'); }
  get startScript(): string { return join(this.bundle, 'start.sh'); }
  get gate(): string { return join(this.bundle, 'start-gate'); }
  get lxcLog(): string { return join(this.bundle, 'lxc.log'); }
  get holderPid(): string { return join(this.bundle, 'holder.pid'); }
  /** Not conmon's `oom`: conmon watches the cgroup of start.sh (berthd's), not the container's. */
  get oom(): string { return join(this.bundle, 'oom-lxc'); }
  get tty(): string { return join(this.bundle, 'tty'); }
  get holdFifo(): string { return join(this.bundle, 'stdin-hold'); }
}

/** What an exec-lxc task remembers across daemon restarts (task.json): conmon's record plus LXC's. */
export interface LxcTaskRecord extends ConmonTaskRecord {
  /** The process conmon watches: start.sh, then lxc-start (or `script` for a TTY). */
  holderPid: number;
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
