import { join } from 'node:path';

/**
 * Where a task's files live. The bundle (small files, sockets, FIFOs) sits in
 * the exec root, which is a tmpfs on most hosts, as runc's own state; the
 * output spools sit under the data root, because they can grow large and
 * must outlive a daemon restart until the container service has read them.
 *
 *   <state>/tasks/<id>/            OCI bundle + conmon's directory
 *       config.json  task.json     spec; runtime name/path/args and the monitor's pid
 *       init.pid  conmon.pid       pids
 *       attach  ctl  winsz         conmon's stdin socket and control FIFOs
 *       exit  oom                  exit status, OOM marker
 *       exec/<exec-id>/            process.json, pids, exit/<id>, attach, ctl
 *   <state>/exits/<id>             exit status again, one directory for all tasks
 *   <spool>/<id>/output.log        init process output (CRI format)
 *   <spool>/<id>/exec-<exec-id>.log
 *   <exec-root>/runtime/<name>/    the runtime's --root (runc/crun state)
 */
export class TaskFiles {
  constructor(
    readonly stateDir: string,
    readonly spoolDir: string,
    readonly id: string,
  ) {}

  get bundle(): string { return join(this.stateDir, 'tasks', this.id); }
  get config(): string { return join(this.bundle, 'config.json'); }
  get record(): string { return join(this.bundle, 'task.json'); }
  get initPid(): string { return join(this.bundle, 'init.pid'); }
  get monitorPid(): string { return join(this.bundle, 'conmon.pid'); }
  get attach(): string { return join(this.bundle, 'attach'); }
  get ctl(): string { return join(this.bundle, 'ctl'); }
  get exit(): string { return join(this.bundle, 'exit'); }
  get oom(): string { return join(this.bundle, 'oom'); }
  get exitsDir(): string { return join(this.stateDir, 'exits'); }
  get sharedExit(): string { return join(this.exitsDir, this.id); }
  get spool(): string { return join(this.spoolDir, this.id); }
  get output(): string { return join(this.spool, 'output.log'); }

  execDir(execId: string): string { return join(this.bundle, 'exec', execId); }
  execOutput(execId: string): string { return join(this.spool, `exec-${execId}.log`); }
}

/** What a task remembers across daemon restarts (task.json). */
export interface TaskRecord {
  id: string;
  runtime: string;
  runtimePath: string;
  runtimeArgs: string[];
  runtimeRoot: string;
  /** The process's argv[0], for dockerd's "not found" → 127 translation. */
  command: string;
  terminal: boolean;
  stdin: boolean;
  /** `-u` of the container, the default user of exec processes. */
  user?: string;
  rootfs: string;
  cgroupVersion: '1' | '2';
  pid: number;
  monitorPid: number;
  created: string;
}
