import type { ContainerState, ExitStatus } from '../../kernel/index.js';
import { GO_ZERO_TIME, nowRfc3339Nano, rfc3339Nano } from './time-format.js';

/**
 * dockerd's container.State setters (container/state.go) as pure functions:
 * each returns the next State, so the service persists exactly what it
 * reports. `Status` is dockerd's StateString(): a container whose start
 * failed before it ever ran stays "created", with the exit code and error.
 */

/** dockerd's exitUnknown: a start failure that carries no exit code of its own. */
export const EXIT_UNKNOWN = 128;

export function runningState(prev: ContainerState, pid: number): ContainerState {
  return { ...prev, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: nowRfc3339Nano() };
}

export function stoppedState(prev: ContainerState, exit: ExitStatus): ContainerState {
  return {
    ...prev,
    Status: neverStarted(prev) ? 'created' : 'exited',
    Running: false, Paused: false, Restarting: false, Pid: 0,
    ExitCode: exit.exitCode, OOMKilled: exit.oomKilled, FinishedAt: rfc3339Nano(exit.exitedAt),
  };
}

/** Between an exit and the policy's restart: still "running" for stop/rm/kill, as dockerd counts it. */
export function restartingState(prev: ContainerState, exit: ExitStatus): ContainerState {
  return { ...prev, Status: 'restarting', Running: true, Paused: false, Restarting: true, Pid: 0, ExitCode: exit.exitCode, OOMKilled: exit.oomKilled, FinishedAt: rfc3339Nano(exit.exitedAt) };
}

export function pausedState(prev: ContainerState, paused: boolean): ContainerState {
  return { ...prev, Status: paused ? 'paused' : 'running', Paused: paused };
}

/** dockerd's start-failure path: SetError, an exit code (127/126 or exitUnknown), Reset. */
export function startFailedState(prev: ContainerState, message: string, exitCode: number | undefined): ContainerState {
  const code = exitCode ?? (prev.ExitCode === 0 ? EXIT_UNKNOWN : prev.ExitCode);
  return {
    ...prev,
    Status: neverStarted(prev) ? 'created' : 'exited',
    Running: false, Paused: false, Restarting: false, Pid: 0, Error: message, ExitCode: code,
  };
}

export function removingState(prev: ContainerState): ContainerState {
  return { ...prev, Status: 'removing' };
}

function neverStarted(s: ContainerState): boolean {
  return s.StartedAt === GO_ZERO_TIME;
}
