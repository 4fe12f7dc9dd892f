import type Router from '@koa/router';
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { ExtensionPoint, type ContainerService, type TaskStats } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { queryBool } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { startStream, writeJsonLine } from '../http/streaming.js';

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * `GET /containers/{id}/stats`: dockerd's StatsResponse, one per second
 * while streaming; `stream=0` waits for a second sample so that
 * `precpu_stats` is filled in (the CLI computes CPU % from the difference),
 * unless `one-shot`. A container that is not running gets one zeroed sample.
 */
export function containerStatsRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'get', '/containers/:id/stats', 'containers.stats', async (ctx, api) => {
    const stream = queryBool(ctx.query.stream, true);
    const oneShot = queryBool(ctx.query['one-shot']);
    const c = await svc().get(ctx.params.id!);
    const sample = async () => {
      const s = await svc().stats(c.Id);
      return s ? { stats: s, system: await systemCpuNs() } : undefined;
    };
    if (!stream) {
      // dockerd writes nothing for stream=0 until the answer is ready (no flush): the CLI's
      // `--no-stream` gives up 2 s after the response headers ("timeout waiting for stats"), so
      // headers sent before the 1 s priming sample made it fail whenever the daemon was slow.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      ctx.res.once('close', onClose);
      try {
        const prev = oneShot ? undefined : await sample();
        if (prev) await sleep(1000, gone.signal);
        const cur = await sample();
        ctx.status = 200;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(api.adapt(shape(c.Name, c.Id, cur, prev))) + '\n';
      } finally {
        ctx.res.off('close', onClose);
      }
      return;
    }
    const { out, signal } = startStream(ctx, 'application/json');
    let prev: Sample | undefined;
    for (;;) {
      const cur = await sample();
      writeJsonLine(out, api.adapt(shape(c.Name, c.Id, cur, prev)));
      if (!cur || signal.aborted) break;
      prev = cur;
      await sleep(1000, signal);
      if (signal.aborted) break;
    }
    out.end();
  });
}

interface Sample { stats: TaskStats; system: number }

/** dockerd's StatsResponse (api/types/container/stats.go), Linux fields. */
function shape(name: string, id: string, cur: Sample | undefined, prev: Sample | undefined): Record<string, unknown> {
  return {
    read: cur ? cur.stats.read.toISOString() : GO_ZERO_TIME,
    preread: prev ? prev.stats.read.toISOString() : GO_ZERO_TIME,
    pids_stats: cur ? { current: cur.stats.pids.current, ...(cur.stats.pids.limit !== undefined ? { limit: cur.stats.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: cur ? [{ major: 0, minor: 0, op: 'read', value: cur.stats.blkio.readBytes }, { major: 0, minor: 0, op: 'write', value: cur.stats.blkio.writeBytes }] : null,
      io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
      io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(prev),
    memory_stats: cur ? {
      usage: cur.stats.memory.usage,
      ...(cur.stats.memory.maxUsage !== undefined ? { max_usage: cur.stats.memory.maxUsage } : {}),
      stats: cur.stats.memory.stats,
      limit: cur.stats.memory.limit ?? totalmem(),
    } : {},
    name,
    id,
  };
}

function cpuStats(s: Sample | undefined): Record<string, unknown> {
  if (!s) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  const c = s.stats.cpu;
  return {
    cpu_usage: { total_usage: c.totalUsageNs, usage_in_kernelmode: c.systemNs, usage_in_usermode: c.userNs },
    system_cpu_usage: s.system,
    online_cpus: availableParallelism(),
    throttling_data: { periods: 0, throttled_periods: c.throttledPeriods, throttled_time: c.throttledTimeNs },
  };
}

/** The host's total CPU time in nanoseconds, from the first line of /proc/stat (USER_HZ = 100). */
async function systemCpuNs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const jiffies = line.trim().split(/\s+/).slice(1, 9).reduce((a, v) => a + Number(v), 0);
  return jiffies * 10_000_000;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
