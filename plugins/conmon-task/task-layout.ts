import { join } from 'node:path';

/**
 * The files every conmon-run task has, whatever runs its process. The bundle
 * directory is conmon's monitor directory (`-b`): small files, sockets and
 * FIFOs, in the exec root (a tmpfs on most hosts). Output spools sit under the
 * data root: they can grow large and must outlive a daemon restart until the
 * container service has read them.
 *
 *   <state>/tasks/<id>/            conmon's directory for the task
 *       config.json  task.json     the OCI spec; what the task remembers (ConmonTaskRecord)
 *       conmon.pid                 the monitor's pid
 *       attach  ctl  exit          conmon's stdin socket, control FIFO, exit status
 *       exec/<exec-id>/            an exec's own monitor directory: pid files, exit/<id>, attach, ctl
 *   <state>/exits/<id>             exit status again, one directory for all tasks
 *   <spool>/<id>/output.log        init process output (CRI format)
 *   <spool>/<id>/exec-<exec-id>.log
 *
 * Each driver extends it with its own files (runc's init.pid and oom, LXC's
 * configuration, start gate and log).
 */
export class ConmonTaskFiles {
  constructor(readonly stateDir: string, readonly spoolDir: string, readonly id: string) {}

  get bundle(): string { return join(this.stateDir, 'tasks', this.id); }
  /** The OCI spec the task was created from; exec processes are built from it. */
  get spec(): string { return join(this.bundle, 'config.json'); }
  get record(): string { return join(this.bundle, 'task.json'); }
  get monitorPid(): string { return join(this.bundle, 'conmon.pid'); }
  get attach(): string { return join(this.bundle, 'attach'); }
  get ctl(): string { return join(this.bundle, 'ctl'); }
  get exit(): string { return join(this.bundle, 'exit'); }
  get exitsDir(): string { return join(this.stateDir, 'exits'); }
  get sharedExit(): string { return join(this.exitsDir, this.id); }
  get spool(): string { return join(this.spoolDir, this.id); }
  get output(): string { return join(this.spool, 'output.log'); }

  execDir(execId: string): string { return join(this.bundle, 'exec', execId); }
  execOutput(execId: string): string { return join(this.spool, `exec-${execId}.log`); }
}

/** What every conmon-run task remembers across daemon restarts (task.json); drivers add their own fields. */
export interface ConmonTaskRecord {
  id: string;
  runtime: string;
  /** The process's argv[0], for dockerd's "not found" → 127 / 126 translation. */
  command: string;
  terminal: boolean;
  stdin: boolean;
  /** `-u` of the container, the default user of exec processes. */
  user?: string;
  rootfs: string;
  cgroupVersion: '1' | '2';
  /** Host pid of the container's init; 0 while a driver does not know it yet. */
  pid: number;
  monitorPid: number;
  created: string;
}
