import { readdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree } from '../../kernel/index.js';

/** The parts of runc's `<root>/<id>/state.json` (libcontainer's State) this reads. */
interface RuncState {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string;
  config?: {
    namespaces?: Array<{ type: string; path?: string }>;
    Hooks?: { poststop?: unknown[] | null } | null;
  };
}

/**
 * `runc delete` of a container whose init has exited, without spawning runc:
 * what libcontainer's destroy() does in that case — remove the container's
 * cgroups, then its state directory. A runc process per container exit costs
 * a fork and a Go runtime start on a busy machine, on the path every
 * `docker run --rm` and `docker rm` waits for.
 *
 * Done here only when nothing else is needed: the init is gone (not the same
 * pid and start time), the container had its own pid namespace (so its other
 * processes died with init; runc would SIGKILL them first otherwise), no
 * poststop hooks, no Intel RDT group. Otherwise — or when a cgroup stays busy
 * — it answers false and the caller runs `runc delete --force`, which finds
 * whatever this removed already gone.
 */
export async function destroyExited(stateDir: string): Promise<boolean> {
  let state: RuncState;
  try {
    state = JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8')) as RuncState;
  } catch {
    return false; // no state (runc answers "does not exist"), or one this does not understand
  }
  const ns = state.config?.namespaces;
  if (!Array.isArray(ns) || !ns.some((n) => n.type === 'NEWPID' && !n.path)) return false;
  if ((state.config?.Hooks?.poststop ?? []).length > 0) return false;
  if (state.intel_rdt_path) return false;
  if (!state.init_process_pid || (await sameProcessRuns(state.init_process_pid, state.init_process_start))) return false;
  const paths = [...new Set(Object.values(state.cgroup_paths ?? {}))];
  if (paths.some((path) => !path.startsWith('/sys/fs/cgroup/'))) return false;
  // One directory per cgroup v1 controller (ten or so), each in its own hierarchy: removed side
  // by side rather than one rmdir round trip after another on the path every exit waits for.
  const removed = await Promise.all(paths.map((path) => removeCgroup(path)));
  if (removed.includes(false)) return false;
  await removeTree(stateDir);
  return true;
}

/** Whether `pid` is still the process that started at `start` (clock ticks since boot), zombies included. */
async function sameProcessRuns(pid: number, start: number | undefined): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // Field 22 (starttime), counted after the parenthesised command name.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return start === undefined || Number(fields[19]) === start;
}

/**
 * rmdir of a cgroup and any child cgroups, deepest first (libcontainer's
 * RemovePath). A cgroup can stay busy for a moment after its last task
 * exited; a few short retries, as runc makes, then the caller falls back.
 */
async function removeCgroup(path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await removeCgroupTree(path)) return true;
    await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
  }
  return false;
}

async function removeCgroupTree(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'EBUSY' && code !== 'ENOTEMPTY') return false;
  }
  let children: string[];
  try {
    children = (await readdir(path, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return false;
  }
  for (const child of children) if (!(await removeCgroupTree(join(path, child)))) return false;
  try {
    await rmdir(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
