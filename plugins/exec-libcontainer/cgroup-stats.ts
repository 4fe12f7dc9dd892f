import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskStats } from '../../kernel/index.js';

/**
 * Resource usage read straight from the task's cgroup files, for any runtime
 * (crun has no `events --stats`) and without spawning anything. The cgroup is
 * found through /proc/<pid>/cgroup of the task's init process; v1 reads the
 * memory, cpuacct, cpu, pids and blkio hierarchies, v2 the unified one.
 */
export async function readCgroupStats(pid: number, version: '1' | '2'): Promise<TaskStats> {
  const paths = await cgroupPaths(pid);
  const num = async (p: string | undefined) => {
    if (!p) return undefined;
    const t = (await readFile(p, 'utf8').catch(() => '')).trim();
    return t === '' || t === 'max' ? undefined : Number(t);
  };
  const kv = async (p: string | undefined) => {
    const out: Record<string, number> = {};
    if (!p) return out;
    for (const line of (await readFile(p, 'utf8').catch(() => '')).split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
    }
    return out;
  };
  const at = (sub: string, file: string) => (paths.get(sub) !== undefined ? join(version === '2' ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${sub}`, paths.get(sub)!, file) : undefined);

  if (version === '2') {
    const cpu = await kv(at('', 'cpu.stat'));
    const io = await ioStatV2(at('', 'io.stat'));
    const memStats = await kv(at('', 'memory.stat'));
    return {
      read: new Date(),
      pids: { current: (await num(at('', 'pids.current'))) ?? 0, limit: await num(at('', 'pids.max')) },
      cpu: { totalUsageNs: (cpu.usage_usec ?? 0) * 1000, userNs: (cpu.user_usec ?? 0) * 1000, systemNs: (cpu.system_usec ?? 0) * 1000, throttledPeriods: cpu.nr_throttled ?? 0, throttledTimeNs: (cpu.throttled_usec ?? 0) * 1000 },
      memory: { usage: (await num(at('', 'memory.current'))) ?? 0, limit: await num(at('', 'memory.max')), maxUsage: await num(at('', 'memory.peak')), cache: memStats.file, stats: memStats },
      blkio: io,
    };
  }
  const acct = await kv(at('cpuacct', 'cpuacct.stat'));
  const hz = 100; // USER_HZ
  const throttle = await kv(at('cpu', 'cpu.stat'));
  const memStats = await kv(at('memory', 'memory.stat'));
  const limit = await num(at('memory', 'memory.limit_in_bytes'));
  return {
    read: new Date(),
    pids: { current: (await num(at('pids', 'pids.current'))) ?? 0, limit: await num(at('pids', 'pids.max')) },
    cpu: { totalUsageNs: (await num(at('cpuacct', 'cpuacct.usage'))) ?? 0, userNs: ((acct.user ?? 0) * 1e9) / hz, systemNs: ((acct.system ?? 0) * 1e9) / hz, throttledPeriods: throttle.nr_throttled ?? 0, throttledTimeNs: throttle.throttled_time ?? 0 },
    memory: { usage: (await num(at('memory', 'memory.usage_in_bytes'))) ?? 0, limit: limit !== undefined && limit < 2 ** 62 ? limit : undefined, maxUsage: await num(at('memory', 'memory.max_usage_in_bytes')), cache: memStats.cache, stats: memStats },
    blkio: await blkioV1(at('blkio', 'blkio.throttle.io_service_bytes')),
  };
}

/** controller (v1 name, or "" for the unified hierarchy) → path inside the hierarchy. */
async function cgroupPaths(pid: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

async function ioStatV2(p: string | undefined): Promise<TaskStats['blkio']> {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of (p ? await readFile(p, 'utf8').catch(() => '') : '').split('\n')) {
    readBytes += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
    writeBytes += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { readBytes, writeBytes };
}

async function blkioV1(p: string | undefined): Promise<TaskStats['blkio']> {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of (p ? await readFile(p, 'utf8').catch(() => '') : '').split('\n')) {
    const [, op, v] = line.trim().split(/\s+/);
    if (op === 'Read') readBytes += Number(v);
    if (op === 'Write') writeBytes += Number(v);
  }
  return { readBytes, writeBytes };
}
