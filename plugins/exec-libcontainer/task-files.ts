import { join } from 'node:path';
import { ConmonTaskFiles, type ConmonTaskRecord } from '../conmon-task/index.js';

/**
 * Where a task's files live: conmon's layout (conmon-task/task-layout.ts) with
 * the bundle as the OCI bundle — config.json is the spec runc runs — plus:
 *
 *   <state>/tasks/<id>/init.pid    the container's init pid, written by the runtime
 *   <state>/tasks/<id>/oom         conmon's OOM marker
 *   <exec-root>/runtime/<name>/    the runtime's --root (runc/crun state)
 */
export class TaskFiles extends ConmonTaskFiles {
  get initPid(): string { return join(this.bundle, 'init.pid'); }
  get oom(): string { return join(this.bundle, 'oom'); }
}

/** What a task remembers across daemon restarts (task.json): conmon's record plus the runtime it was created with. */
export interface TaskRecord extends ConmonTaskRecord {
  runtimePath: string;
  runtimeArgs: string[];
  runtimeRoot: string;
}
