/**
 * Shared code for the exec drivers that run a container's process under
 * conmon (exec-libcontainer, exec-lxc); not a plugin itself: the task's
 * files and record, the Task and exec Process state machines and streams,
 * and the driver's task table, create steps, restore and dispose.
 */
export { ConmonTaskFiles, type ConmonTaskRecord } from './task-layout.js';
export { ConmonTask, type ConmonTaskDeps, type ExecHandle } from './conmon-task.js';
export { ConmonExecProcess, type ConmonExecContext, type ExecLaunch } from './conmon-exec.js';
export { ConmonDriver, saveRecord, type ConmonDriverOptions, type TaskLaunch } from './conmon-driver.js';
export { detectCgroupVersion } from './cgroup-version.js';
export { ensureWorkingDir } from './working-dir.js';
export { assertValidId } from './ids.js';
export { killRecordedPid } from './recorded-pid.js';
