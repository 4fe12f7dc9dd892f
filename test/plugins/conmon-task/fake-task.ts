import { mkdir, writeFile } from 'node:fs/promises';
import type { ConsoleSize, ExecProcessConfig, ExitStatus, Resources, TaskIO, TaskStatus } from '../../../kernel/index.js';
import {
  ConmonExecProcess,
  ConmonTask,
  ConmonTaskFiles,
  type ConmonTaskRecord,
  type ExecLaunch,
} from '../../../plugins/conmon-task/index.js';
import type { OciSpec } from '../../../plugins/exec-libcontainer/oci-types.js';

/** A runtime that only records what the shared code asks of it; "processes" end when the test writes conmon's exit file. */
export class FakeTask extends ConmonTask<ConmonTaskFiles, ConmonTaskRecord> {
  readonly calls: string[] = [];
  signalError?: Error;
  /** Exit code conmon records while the signal is on its way (the process ended meanwhile). */
  exitDuringSignal?: number;
  /** Exit code the "runtime" reports instead of conmon's (as LXC's log corrects lxc-start's). */
  corrected?: number;
  lastExecSpec?: OciSpec;

  protected async launch(): Promise<void> { this.calls.push('launch'); }
  protected async signal(sig: string, s: TaskStatus): Promise<void> {
    this.calls.push(`signal ${sig} ${s}`);
    if (this.exitDuringSignal !== undefined) await writeExit(this.files, this.exitDuringSignal);
    if (this.signalError) throw this.signalError;
  }
  protected async freeze(): Promise<void> { this.calls.push('freeze'); }
  protected async thaw(): Promise<void> { this.calls.push('thaw'); }
  protected async forceKill(): Promise<void> {
    this.calls.push('forceKill');
    await writeExit(this.files, 137);
  }
  protected async applyResources(_r: Resources, s: TaskStatus): Promise<void> { this.calls.push(`update ${s}`); }
  protected async listPids(): Promise<number[]> { return [this.pid]; }
  protected override async removeRuntimeState(): Promise<void> { this.calls.push('removeRuntimeState'); }
  protected override correctExit(e: ExitStatus): ExitStatus {
    return this.corrected === undefined ? e : { ...e, exitCode: this.corrected };
  }
  protected async newExec(execId: string, spec: OciSpec, _config: ExecProcessConfig, io: TaskIO): Promise<FakeExec> {
    this.lastExecSpec = spec;
    return new FakeExec(execId, spec.process, io, { record: this.record, dir: this.files.execDir(execId), spool: this.files.execOutput(execId), conmonPath: '/nonexistent/conmon' });
  }
  async resize(_size: ConsoleSize): Promise<void> { this.calls.push('resize'); }
}

export class FakeExec extends ConmonExecProcess {
  protected async prepareLaunch(): Promise<ExecLaunch> {
    return { runtimePath: '/bin/false', runtimeArgs: [], execProcessSpec: '/dev/null', terminal: false };
  }
  async resize(): Promise<void> {}
}

export function record(id: string, over: Partial<ConmonTaskRecord> = {}): ConmonTaskRecord {
  return { id, runtime: 'fake', command: 'sh', terminal: false, stdin: false, rootfs: '/nonexistent', cgroupVersion: '2', pid: 4242, monitorPid: process.pid, created: new Date(0).toISOString(), ...over };
}

/** What conmon does when the process ends: the status in the task's exit file. */
export async function writeExit(files: ConmonTaskFiles, code: number): Promise<void> {
  await mkdir(files.bundle, { recursive: true });
  await writeFile(files.exit, `${code}`);
}
