import { Writable } from 'node:stream';
import type { ContainerRecord, HealthState } from '../../kernel/index.js';
import type { ExecManager } from './exec-manager.js';
import type { ServiceContext } from './service-context.js';
import { nowRfc3339Nano } from './time-format.js';

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG_ENTRIES = 5;
const MAX_OUTPUT = 4096;

/**
 * Healthchecks as dockerd runs them (daemon/health.go): a probe — the
 * HEALTHCHECK command as an exec (CMD, or CMD-SHELL through /bin/sh -c) —
 * every interval (start-interval during the start period) while the
 * container runs and is not paused; exit 0 is healthy, `Retries` failures in
 * a row unhealthy (failures in the start period do not count before the
 * first success); a probe past its timeout is killed and fails; the last
 * five results are kept; a change of status emits `health_status: <status>`.
 */
export class HealthMonitor {
  private readonly monitors = new Map<string, { stop(): void }>();

  constructor(private readonly ctx: ServiceContext, private readonly execs: ExecManager) {}

  /** A (re)started container: status `starting`, then the probes. */
  async init(id: string): Promise<void> {
    const c = this.ctx.store.tryResolve(id);
    if (!c || !probeCommand(c)) return;
    this.stop(id);
    const health: HealthState = { Status: 'starting', FailingStreak: 0, Log: c.State.Health?.Log ?? [] };
    await this.ctx.store.save({ ...c, State: { ...c.State, Health: health } });
    this.update(id);
  }

  /** Probes run only while the container runs and is not paused. */
  update(id: string): void {
    const c = this.ctx.store.tryResolve(id);
    const want = !!c && c.State.Running && !c.State.Paused && !c.State.Restarting && !!probeCommand(c) && !!c.State.Health;
    if (!want) return this.stop(id);
    if (!this.monitors.has(id)) this.monitors.set(id, this.monitor(c!));
  }

  stop(id: string): void {
    this.monitors.get(id)?.stop();
    this.monitors.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.monitors.keys()]) this.stop(id);
  }

  private monitor(c: ContainerRecord): { stop(): void } {
    const hc = c.Config.Healthcheck!;
    const interval = nsToMs(hc.Interval, DEFAULT_INTERVAL_MS);
    const startInterval = nsToMs(hc.StartInterval, DEFAULT_START_INTERVAL_MS);
    const startPeriod = nsToMs(hc.StartPeriod, 0);
    const started = Date.parse(c.State.StartedAt);
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const next = () => {
      const elapsed = Date.now() - started;
      if (elapsed >= startPeriod) return interval;
      if (startPeriod - elapsed < interval) return startPeriod - elapsed;
      return this.ctx.store.tryResolve(c.Id)?.State.Health?.Status === 'starting' ? startInterval : interval;
    };
    const tick = async () => {
      if (stopped) return;
      const result = await this.probe(c.Id).catch((err: unknown) => ({ Start: nowRfc3339Nano(), End: nowRfc3339Nano(), ExitCode: -1, Output: err instanceof Error ? err.message : String(err) }));
      if (stopped) return;
      await this.record(c.Id, result).catch((err: unknown) => this.ctx.log.warn('failed to record a health probe', { container: c.Id, error: err }));
      if (!stopped) timer = setTimeout(() => void tick(), next());
    };
    timer = setTimeout(() => void tick(), next());
    return { stop: () => { stopped = true; clearTimeout(timer); } };
  }

  private async probe(id: string): Promise<HealthState['Log'][number]> {
    const c = this.ctx.store.resolve(id);
    const cmd = probeCommand(c)!;
    const timeout = nsToMs(c.Config.Healthcheck?.Timeout, DEFAULT_TIMEOUT_MS);
    const start = nowRfc3339Nano();
    const execId = this.execs.create(id, { Cmd: cmd, User: c.Config.User, WorkingDir: c.Config.WorkingDir, AttachStdout: true, AttachStderr: true, Tty: false });
    const output = new LimitedBuffer();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void this.execs.kill(execId, 'SIGKILL');
    }, timeout);
    try {
      await this.execs.start(execId, { detach: false }, () => ({ stdout: output.writer(), stderr: output.writer() }));
    } finally {
      clearTimeout(timer);
    }
    const end = nowRfc3339Nano();
    if (timedOut) {
      const out = output.text();
      return { Start: start, End: end, ExitCode: -1, Output: `Health check exceeded timeout (${goDuration(timeout)})${out ? `: ${out}` : ''}` };
    }
    return { Start: start, End: end, ExitCode: this.execs.inspect(execId).ExitCode ?? -1, Output: output.text() };
  }

  /** dockerd's handleProbeResult. */
  private async record(id: string, result: HealthState['Log'][number]): Promise<void> {
    await this.ctx.locks.run(id, async () => {
      const c = this.ctx.store.tryResolve(id);
      const h = c?.State.Health;
      if (!c || !h || !this.monitors.has(id)) return;
      const retries = c.Config.Healthcheck?.Retries || DEFAULT_RETRIES;
      const next: HealthState = { ...h, Log: [...h.Log, result].slice(-MAX_LOG_ENTRIES) };
      if (result.ExitCode === 0) {
        next.FailingStreak = 0;
        next.Status = 'healthy';
      } else {
        const inStartPeriod = h.Status === 'starting' && Date.parse(result.Start) - Date.parse(c.State.StartedAt) < nsToMs(c.Config.Healthcheck?.StartPeriod, 0);
        if (!inStartPeriod) {
          next.FailingStreak++;
          if (next.FailingStreak >= retries) next.Status = 'unhealthy';
        }
      }
      const saved = { ...c, State: { ...c.State, Health: next } };
      await this.ctx.store.save(saved);
      if (next.Status !== h.Status) this.ctx.emit(`health_status: ${next.Status}`, saved);
    });
  }
}

/** The probe's argv, or undefined without a healthcheck (none, empty, NONE, unknown type). */
export function probeCommand(c: Pick<ContainerRecord, 'Config'>): string[] | undefined {
  const test = c.Config.Healthcheck?.Test;
  if (!test?.length) return undefined;
  if (test[0] === 'CMD' && test.length > 1) return test.slice(1);
  if (test[0] === 'CMD-SHELL' && test.length > 1) return [...(c.Config.Shell?.length ? c.Config.Shell : ['/bin/sh', '-c']), ...test.slice(1)];
  return undefined;
}

/** `Up 2 minutes (healthy)` / `(health: starting)` in docker ps. */
export function healthSuffix(h: HealthState | undefined): string {
  if (!h || h.Status === 'none') return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

function nsToMs(ns: number | undefined, dflt: number): number {
  return ns ? ns / NS_PER_MS : dflt;
}

function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Up to 4096 bytes of output; "..." marks what was cut (dockerd's limitedBuffer). */
class LimitedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  writer(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        const keep = Math.min(MAX_OUTPUT - this.size, chunk.length);
        if (keep > 0) {
          this.chunks.push(chunk.subarray(0, keep));
          this.size += keep;
        }
        if (keep < chunk.length) this.truncated = true;
        cb();
      },
    });
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? '...' : '');
  }
}
