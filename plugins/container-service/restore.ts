import { ExtensionPoint, type NetworkService, type ContainerLogger, type ContainerRecord, type ExecDriver, type ExitStatus, type GraphDriver, type Task } from '../../kernel/index.js';
import type { Lifecycle } from './lifecycle.js';
import type { LiveTask } from './live-task.js';
import { OutputPump } from './output-pump.js';
import { RestartManager } from './restart-policy.js';
import { runtimeOf, type ServiceContext } from './service-context.js';
import { parseSignal } from './signals.js';
import { pausedState, stoppedState } from './state-transitions.js';
import { SpoolOffset } from './spool-offset.js';
import { acquireDriver } from './task-launcher.js';

/**
 * dockerd's daemon.restore for containers, at daemon start:
 * - a container recorded as running whose task is alive is re-attached with
 *   live-restore (its log resumes from the saved spool offset), or stopped
 *   as dockerd does without it (stop signal, timeout, SIGKILL);
 * - one whose task exited meanwhile gets its remaining output logged and
 *   its exit status recorded;
 * - afterwards the restart policies run (a daemon restart is a restart
 *   reason for `always` and `unless-stopped`) and are waited for, and
 *   stopped `--rm` containers are removed.
 */
export async function restoreContainers(ctx: ServiceContext, lifecycle: Lifecycle, liveRestore: boolean, remove: (id: string) => Promise<void>): Promise<void> {
  for (const c of ctx.store.all()) {
    if (!c.State.Running) continue;
    await restoreOne(ctx, lifecycle, c, liveRestore).catch((err: unknown) => ctx.log.error('failed to restore container', { container: c.Id, error: err }));
  }
  await removeStaleTasks(ctx);
  // Sandboxes of containers that lived on keep their addresses and ports; every other one is released.
  const live = ctx.store.all().filter((c) => ctx.runtimes.get(c.Id)?.live).map((c) => c.Id);
  await ctx.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.reconcile(live).catch((err: unknown) => ctx.log.warn('failed to restore network sandboxes', { error: err }));
  // The restarts run side by side and are waited for, as dockerd's restore does (group.Wait()
  // before the API serves): a client must not find a container half restarted — running in its
  // record but without its sandbox yet — nor race a `docker rm -f` with the restart.
  const restarts: Array<Promise<void>> = [];
  for (const c of ctx.store.all()) {
    if (c.State.Running) continue;
    const rt = runtimeOf(ctx, c);
    const ranMs = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
    const policy = new RestartManager(c.HostConfig.RestartPolicy, c.RestartCount).shouldRestart(c.State.ExitCode, c.HasBeenManuallyStopped === true, ranMs);
    if (policy.restart && c.State.Status !== 'created') {
      rt.restart = new RestartManager(c.HostConfig.RestartPolicy, c.RestartCount);
      restarts.push(lifecycle.start(c.Id).catch((err: unknown) => ctx.log.warn('failed to restart container on daemon start', { container: c.Id, error: err })));
    } else if (c.HostConfig.AutoRemove) {
      await remove(c.Id).catch((err: unknown) => ctx.log.warn('failed to remove container', { container: c.Id, error: err }));
    }
  }
  await Promise.all(restarts);
}

async function restoreOne(ctx: ServiceContext, lifecycle: Lifecycle, c: ContainerRecord, liveRestore: boolean): Promise<void> {
  const dir = ctx.store.dir(c.Id);
  let lease;
  try {
    lease = acquireDriver(ctx.host, c.Runtime);
  } catch {
    lease = undefined;
  }
  const task = await lease?.instance.restore(c.Id);
  const status = await task?.status().catch(() => 'stopped' as const);
  if (task && lease && (status === 'running' || status === 'paused') && liveRestore) {
    const graph = ctx.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    await graph.get(c.Id);
    await ctx.volumes.mount(c).catch((err: unknown) => ctx.log.warn('cannot remount the volumes of a restored container', { container: c.Id, error: err }));
    const logger = await ctx.logs.open(c, dir).catch((err: unknown) => {
      ctx.log.warn('cannot open the container log', { container: c.Id, error: err });
      return undefined;
    });
    const offset = new SpoolOffset(dir);
    const pump = new OutputPump(task.output.path, await SpoolOffset.read(dir), { terminal: c.Config.Tty === true, logger, onOffset: (n) => offset.set(n), skipLogged: await lastLogged(logger) });
    const live: LiveTask = { task, lease, pump, offset, logger, startedAtMs: Date.parse(c.State.StartedAt) || Date.now() };
    const rt = runtimeOf(ctx, c);
    rt.live = live;
    rt.restart = new RestartManager(c.HostConfig.RestartPolicy, c.RestartCount);
    const paused = status === 'paused';
    if (paused !== c.State.Paused || c.State.Restarting) await ctx.store.save({ ...c, State: { ...pausedState(c.State, paused), Restarting: false, Pid: task.pid } });
    lifecycle.watchExit(c.Id, live);
    ctx.log.debug('restored running container', { container: c.Id });
    return;
  }
  let exit: ExitStatus = { exitCode: 255, oomKilled: false, exitedAt: new Date() };
  if (task && lease) {
    if (status === 'running' || status === 'paused') await shutDown(c, task, status === 'paused');
    exit = status === 'created' ? exit : await task.wait();
    // Output written while the daemon was down still goes to the log.
    const logger = await ctx.logs.open(c, dir).catch(() => undefined);
    const pump = new OutputPump(task.output.path, await SpoolOffset.read(dir), { terminal: c.Config.Tty === true, logger, skipLogged: await lastLogged(logger) });
    await pump.finish();
    await logger?.close();
    await task.delete({ force: true }).catch((err: unknown) => ctx.log.warn('failed to delete task', { container: c.Id, error: err }));
    await new SpoolOffset(dir).remove();
  }
  lease?.release();
  await ctx.store.save({ ...c, State: stoppedState(c.State, exit) });
}

/** The newest entry a log holds: its time and how many entries share it (see OutputPump's skipLogged). */
async function lastLogged(logger: ContainerLogger | undefined): Promise<{ timeNano: bigint; count: number } | undefined> {
  if (!logger) return undefined;
  let last: bigint | undefined;
  let count = 0;
  try {
    for await (const e of logger.read({ tail: 64 })) {
      const t = e.timeNano ?? BigInt(e.time.getTime()) * 1_000_000n;
      if (t === last) count++;
      else if (last === undefined || t > last) [last, count] = [t, 1];
    }
  } catch {
    return undefined;
  }
  return last === undefined ? undefined : { timeNano: last, count };
}

/** Without live-restore, containers found running are stopped as dockerd's shutdownContainer does. */
async function shutDown(c: ContainerRecord, task: Task, paused: boolean): Promise<void> {
  const sig = parseSignal(c.Config.StopSignal || 'SIGTERM').name;
  await task.kill(sig).catch(() => undefined);
  if (paused) await task.resume().catch(() => undefined);
  const timeoutMs = (c.Config.StopTimeout ?? 10) * 1000;
  const exited = await Promise.race([task.wait().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  if (!exited) await task.kill('SIGKILL').catch(() => undefined);
}

/**
 * Tasks of containers that are not running — left by a crash in the middle
 * of a start — and tasks of containers that no longer exist: an auto-removal
 * commits while the exited task is still being deleted, and a crash in
 * between leaves the task (its runtime state and cgroups, its bundle).
 */
async function removeStaleTasks(ctx: ServiceContext): Promise<void> {
  for (const driver of ctx.host.all<ExecDriver>(ExtensionPoint.ExecDriver).values()) {
    for (const id of await driver.list()) {
      const c = ctx.store.tryResolve(id);
      if (c && c.Id === id && ctx.runtimes.get(id)?.live) continue;
      const task = await driver.restore(id);
      await task?.delete({ force: true }).catch((err: unknown) => ctx.log.warn('failed to delete a stale task', { container: id, error: err }));
    }
  }
}
