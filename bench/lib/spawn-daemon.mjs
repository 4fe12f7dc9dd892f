// Spawns a daemon (or any long-lived helper) with the normal scheduling
// policy, whatever the bench runs under.
//
// Benches are run under `chrt -f 10` on a loaded machine so that their own
// clocks and CLI calls are not delayed; a child inherits that real-time
// policy. A daemon must not: runc's cgroup v1 cpu join fails with EINVAL for
// SCHED_FIFO tasks, and dockerd's docker-untar spins forever at real-time
// priority, starving the rest of the machine. `chrt --other 0` resets the
// policy before the daemon's own exec, for berthd and dockerd alike.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether this process runs under a real-time policy (SCHED_FIFO or SCHED_RR). */
function realTime() {
  const m = /^policy\s*:\s*(\d+)/m.exec(readFileSync('/proc/self/sched', 'utf8'));
  return m !== null && (m[1] === '1' || m[1] === '2');
}

const rt = realTime();

/**
 * The command and arguments that run `cmd` under the daemons' policy: a
 * baseline command (`tar -x` against `docker import`) must be scheduled as
 * the daemon it is compared with, or a loaded machine favours one side.
 */
export function daemonPolicy(cmd, args) {
  return rt ? ['chrt', ['--other', '0', cmd, ...args]] : [cmd, args];
}

/** child_process.spawn, run through `chrt --other 0` when the bench is real-time. */
export function spawnDaemon(cmd, args, options) {
  return rt ? spawn('chrt', ['--other', '0', cmd, ...args], options) : spawn(cmd, args, options);
}

/** [cmd, args] that run `cmd` with the normal policy (runc's cgroup v1 cpu join refuses real-time tasks). */
export function normalPolicy(cmd, args) {
  return rt ? ['chrt', ['--other', '0', cmd, ...args]] : [cmd, args];
}

/**
 * Stops the daemons a bench started, newest first: SIGTERM, SIGKILL after
 * 20 s, each awaited (`exited`, a promise of its exit) before the next.
 * Empties `started`.
 */
export async function stopDaemons(started) {
  for (const d of started.splice(0).reverse()) {
    try { process.kill(d.pid, 'SIGTERM'); } catch { /* gone */ }
    const t = setTimeout(() => { try { process.kill(d.pid, 'SIGKILL'); } catch { /* gone */ } }, 20_000);
    await d.exited;
    clearTimeout(t);
  }
}
