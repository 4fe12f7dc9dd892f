import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConsoleSize } from '../../kernel/index.js';
import { ConmonExecProcess, type ExecLaunch } from '../conmon-task/index.js';
import { resizeTerminal } from './process-io.js';
import type { TaskRecord } from './task-files.js';

/**
 * A `docker exec` process: its own conmon (`conmon -e`, which runs
 * `runc exec --detach` with the OCI process in `process.json`), its own
 * spool, exit file and attach socket, all in `exec/<exec-id>/` of the task
 * (conmon-task/conmon-exec.ts). Created by Task.exec, run by start().
 */
export class ExecProcess extends ConmonExecProcess<TaskRecord> {
  protected async prepareLaunch(): Promise<ExecLaunch> {
    const specPath = join(this.ctx.dir, 'process.json');
    await writeFile(specPath, JSON.stringify(this.spec));
    const r = this.ctx.record;
    return {
      runtimePath: r.runtimePath,
      runtimeArgs: [...r.runtimeArgs, '--root', r.runtimeRoot],
      execProcessSpec: specPath,
      terminal: this.spec.terminal === true,
    };
  }

  resize(size: ConsoleSize): Promise<void> {
    return resizeTerminal(this.endpoints, size);
  }
}
