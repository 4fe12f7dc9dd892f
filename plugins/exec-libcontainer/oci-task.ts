import {
  NotFoundError,
  type ConsoleSize,
  type ExecProcessConfig,
  type Resources,
  type TaskIO,
} from '../../kernel/index.js';
import { ConmonTask, type ConmonTaskDeps } from '../conmon-task/index.js';
import { ExecProcess } from './exec-process.js';
import type { FifoPool } from './fifo-pool.js';
import { buildExecProcess } from './oci-spec.js';
import { ociResources } from './oci-resources.js';
import type { OciSpec } from './oci-types.js';
import { resizeTerminal } from './process-io.js';
import type { RuntimeCli } from './runc-cli.js';
import { RuntimeExecProcess } from './runtime-exec.js';
import { translateStartError } from './start-errors.js';
import type { TaskFiles, TaskRecord } from './task-files.js';

/** Tools the task borrows from its driver. */
export interface TaskDeps extends ConmonTaskDeps {
  cli: RuntimeCli;
  /** Pipes for execs the runtime runs as berthd's child; without them every exec runs under conmon. */
  fifos?: FifoPool;
}

/**
 * A container's init process run by an OCI runtime under conmon. The states,
 * streams and exit watching are conmon-task's; every runtime action is the
 * runtime's CLI (`start`, `kill`, `pause`, `resume`, `update`, `ps`,
 * `delete`) with the runtime recorded in task.json, and conmon's OOM marker
 * tells OOM kills (runc keeps the cgroup until `delete`).
 */
export class OciTask extends ConmonTask<TaskFiles, TaskRecord, TaskDeps> {
  protected override get oomFile(): string { return this.files.oom; }

  protected async launch(): Promise<void> {
    try {
      await this.deps.cli.start(this.id, this.pid);
    } catch (err) {
      throw translateStartError(this.record.command, err);
    }
  }

  protected signal(sig: string): Promise<void> {
    return this.deps.cli.kill(this.id, sig);
  }

  protected freeze(): Promise<void> {
    return this.deps.cli.pause(this.id);
  }

  protected thaw(): Promise<void> {
    return this.deps.cli.resume(this.id);
  }

  protected forceKill(): Promise<void> {
    return this.deps.cli.kill(this.id, 'SIGKILL');
  }

  protected applyResources(resources: Resources): Promise<void> {
    return this.deps.cli.update(this.id, ociResources(resources));
  }

  protected listPids(): Promise<number[]> {
    return this.deps.cli.ps(this.id);
  }

  protected override async removeRuntimeState(): Promise<void> {
    await this.deps.cli.delete(this.id, true).catch((err: Error) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }

  /**
   * An exec without a terminal is the runtime's own child (runtime-exec.ts):
   * no monitor, no spool, output straight to the streams. A TTY exec runs
   * under conmon, which takes the pty from the runtime's console socket (Node
   * cannot receive a file descriptor).
   */
  protected async newExec(execId: string, spec: OciSpec, config: ExecProcessConfig, io: TaskIO): Promise<ExecProcess | RuntimeExecProcess> {
    const processSpec = await buildExecProcess(spec, config, this.record.rootfs, this.record.user);
    if (!processSpec.terminal && this.deps.fifos) {
      return new RuntimeExecProcess(execId, processSpec, io, {
        containerId: this.record.id,
        runtimePath: this.record.runtimePath,
        runtimeArgs: [...this.record.runtimeArgs, '--root', this.record.runtimeRoot],
        dir: this.files.execDir(execId),
        fifos: this.deps.fifos,
      });
    }
    return new ExecProcess(execId, processSpec, io, {
      record: this.record,
      dir: this.files.execDir(execId),
      spool: this.files.execOutput(execId),
      conmonPath: this.deps.conmonPath,
      socatPath: this.deps.socatPath,
    });
  }

  resize(size: ConsoleSize): Promise<void> {
    return resizeTerminal(this.endpoints, size);
  }
}
