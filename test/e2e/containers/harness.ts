import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBerthd, type BerthdProcess } from '../../helpers/berthd-process.js';
import { cgroupExists, removeCgroupParent } from '../../conformance/exec/cgroup-cleanup.js';
import { importBusybox } from './bbox-image.js';

/**
 * A berthd for container end-to-end tests: its own dirs (startBerthd), its
 * own cgroup parent (so its cgroups can be checked and removed), and the
 * busybox image `bbox:1`. `leftovers()` lists what a test run must not leave
 * behind: monitors, runtime state, task bundles, cgroups.
 */
export interface ContainerDaemon {
  d: BerthdProcess;
  cgroupParent: string;
  /** Removes every container (docker rm -f). */
  removeAll(): void;
  /** Monitors still running for this daemon, runtime state and bundles left, cgroups left. */
  leftovers(): string[];
  /** Stops berthd, removes its dirs and cgroup parent. */
  stop(): Promise<void>;
}

export async function startContainerDaemon(config: Record<string, unknown> = {}, opts: { dataRoot?: string } = {}): Promise<ContainerDaemon> {
  const cgroupParent = `/berth-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
  const d = await startBerthd({ 'cgroup-parent': cgroupParent, ...config }, [], opts);
  try {
    await importBusybox(d);
  } catch (err) {
    await d.stop();
    throw err;
  }
  const self: ContainerDaemon = {
    d,
    cgroupParent,
    removeAll() {
      const ids = d.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) d.docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
    },
    leftovers() {
      const out: string[] = [];
      for (const pid of monitorsOf(d.dir)) out.push(`monitor ${pid}`);
      for (const dir of ['exec/runtime/runc', 'exec/exec-libcontainer/tasks', 'exec/exec-lxc/tasks']) {
        const entries = listDir(join(d.dir, dir));
        if (entries.length) out.push(`${dir}: ${entries.join(', ')}`);
      }
      const cgroups = listDir(join('/sys/fs/cgroup/memory', cgroupParent)).filter((e) => /^[0-9a-f]{64}$/.test(e));
      for (const id of cgroups) out.push(`cgroup ${cgroupParent}/${id}`);
      return out;
    },
    async stop() {
      try {
        self.removeAll();
      } finally {
        await d.stop();
        for (const pid of monitorsOf(d.dir)) killTree(pid);
        removeCgroupParent(cgroupParent);
      }
    },
  };
  return self;
}

/** conmon processes whose command line names this daemon's directories. */
function monitorsOf(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.split('\0')[0]!.endsWith('conmon') && cmd.includes(dir)) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

function killTree(pid: number): void {
  try {
    execFileSync('pkill', ['-9', '-P', String(pid)]);
  } catch { /* no children */ }
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* gone */ }
}

function listDir(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

export { cgroupExists };

/** Runs the docker CLI without blocking the test (for `logs -f`, `wait`, attach): resolves at its exit. */
export function dockerAsync(d: BerthdProcess, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): { done: Promise<{ status: number | null; stdout: string; stderr: string }>; kill(): void; output(): string } {
  const child = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config'), ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => { stdout += b; });
  child.stderr.on('data', (b) => { stderr += b; });
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else child.stdin.end();
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  return { done, kill: () => child.kill('SIGTERM'), output: () => stdout };
}

/** Stretches waits where everything runs slowly (BERTH_TEST_TIME_SCALE=10 inside the emulated dm VM), as berthd-process does. */
const TIME_SCALE = Number(process.env.BERTH_TEST_TIME_SCALE ?? 1) || 1;

/** Polls until `cond` holds (or throws after `ms`, times the time scale). */
export async function waitFor(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms * TIME_SCALE;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
