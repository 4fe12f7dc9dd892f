import {
  ConflictError,
  NotModifiedError,
  SystemError,
  TaskStartError,
  errorMessage,
  type ConsoleSize,
  type ContainerRecord,
  type ContainerWait,
  type ExitStatus,
  type StopOptions,
  type WaitCondition,
} from '../../kernel/index.js';
import type { LiveTask } from './live-task.js';
import { RestartManager } from './restart-policy.js';
import { runtimeOf, type ServiceContext } from './service-context.js';
import { parseSignal, SIGKILL } from './signals.js';
import { pausedState, restartingState, runningState, startFailedState, stoppedState } from './state-transitions.js';
import { launchTask, releaseTask } from './task-launcher.js';

const DEFAULT_STOP_TIMEOUT_S = 10;

/**
 * Container state transitions on top of the exec driver's task, with
 * dockerd's rules and wording (daemon/start.go, stop.go, kill.go, pause.go,
 * monitor.go): every transition is persisted before it is reported, every
 * exit is handled once — output drained into the log, task deleted, rootfs
 * released, restart policy applied, `die` emitted, waiters woken, `--rm`
 * honoured.
 */
/** What else follows a container's transitions (its healthcheck monitor). */
export interface LifecycleHooks {
  started(id: string): Promise<void>;
  stopped(id: string): void;
  pausedChanged(id: string): void;
}

export class Lifecycle {
  hooks?: LifecycleHooks;

  constructor(
    private readonly ctx: ServiceContext,
    /** `--rm`'s removal; `pending`, work of the exit (the task's deletion) it overlaps with and waits for before it reports. */
    private readonly autoRemove: (id: string, pending?: Promise<void>) => Promise<void>,
  ) {}

  live(id: string): LiveTask | undefined {
    return this.ctx.runtimes.get(id)?.live;
  }

  async start(ref: string): Promise<void> {
    const id = this.ctx.store.resolve(ref).Id;
    let failed = false;
    try {
      await this.ctx.locks.run(id, async () => {
        const c = this.ctx.store.resolve(id);
        if (c.State.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
        if (c.State.Running) throw new NotModifiedError('Container already started');
        if (c.State.Status === 'removing' || c.State.Dead) throw new ConflictError('container is marked for removal and cannot be started');
        const rt = runtimeOf(this.ctx, c);
        // A start by hand resets the policy's count and backoff (ResetRestartManager).
        rt.restart = new RestartManager(c.HostConfig.RestartPolicy, 0);
        // Saved only when it changes: the running state is saved (and fsynced) a moment later anyway.
        if (c.RestartCount !== 0 || c.HasBeenManuallyStopped) await this.ctx.store.save({ ...c, RestartCount: 0, HasBeenManuallyStopped: false });
        try {
          await this.startLocked(id);
        } catch (err) {
          failed = true;
          throw err;
        }
      });
    } finally {
      if (failed && this.ctx.store.resolve(id).HostConfig.AutoRemove) await this.autoRemove(id);
    }
  }

  /** Launches and starts the task; on failure records dockerd's start-failure state and rethrows. */
  private async startLocked(id: string): Promise<void> {
    const c = this.ctx.store.resolve(id);
    const rt = runtimeOf(this.ctx, c);
    let live: LiveTask | undefined;
    try {
      const launched = await launchTask(this.ctx, c, this.ctx.store.dir(id));
      live = launched.live;
      rt.live = live;
      for (const sub of rt.pendingOutput) live.pump.subscribe(sub);
      rt.pendingOutput.clear();
      for (const p of rt.pendingStdin) {
        p.linked(await live.task.attach({ terminal: c.Config.Tty === true, stdin: p.input as never }));
      }
      rt.pendingStdin.clear();
      await live.task.start();
      live.startedAtMs = Date.now();
      const running: ContainerRecord = {
        ...this.ctx.store.resolve(id),
        State: runningState(c.State, live.task.pid),
        ...launched.etc,
        LogPath: live.logger?.path ?? '',
      };
      // An auto-removed (--rm) container's running state is written without fsyncs: a host crash
      // that loses it leaves the record of its create, and a stopped or created --rm container is
      // removed at the next start, as a running one is (restore, as dockerd's) — the same end. A
      // kill -9 of the daemon loses nothing either way (the rename is atomic, the page cache the
      // kernel's). Every other container's running state is durable before the start is reported.
      await this.ctx.store.save(running, { durable: c.HostConfig.AutoRemove !== true });
      this.ctx.emit('start', running);
      await this.hooks?.started(id);
      this.watchExit(id, live);
    } catch (err) {
      if (live) {
        rt.live = undefined;
        await releaseTask(this.ctx, c, live, { deleteTask: true });
      }
      for (const sub of rt.pendingOutput) sub.end();
      rt.pendingOutput.clear();
      rt.pendingStdin.clear();
      const cur = this.ctx.store.resolve(id);
      await this.ctx.store.save({ ...cur, State: startFailedState(cur.State, errorMessage(err), err instanceof TaskStartError ? err.exitCode : undefined) });
      throw err;
    }
  }

  /** Follows the task to its exit; `exited` settles once the exit is handled. */
  watchExit(id: string, live: LiveTask): void {
    live.exited = live.task.wait().then(
      (exit) => this.onExit(id, live, exit),
      (err: unknown) => {
        // The wait is aborted when the daemon shuts down with live-restore: the task lives on.
        if (!this.ctx.shuttingDown) this.ctx.log.warn('lost track of a container task', { container: id, error: err });
      },
    );
  }

  /** dockerd's handleContainerExit. */
  private async onExit(id: string, live: LiveTask, exit: ExitStatus): Promise<void> {
    let remove = false;
    let taskDeleted: Promise<void> | undefined;
    await this.ctx.locks.run(id, async () => {
      const rt = this.ctx.runtimes.get(id);
      if (!rt || rt.live !== live) return;
      this.hooks?.stopped(id);
      await live.pump.finish();
      rt.live = undefined;
      const c = this.ctx.store.resolve(id);
      const runMs = Date.now() - live.startedAtMs;
      const decision = rt.restart.shouldRestart(exit.exitCode, this.ctx.shuttingDown || c.HasBeenManuallyStopped === true, runMs);
      const next: ContainerRecord = decision.restart
        ? { ...c, RestartCount: c.RestartCount + 1, State: restartingState(c.State, exit) }
        : { ...c, State: stoppedState(c.State, exit) };
      remove = !decision.restart && !rt.manualRestart && c.HostConfig.AutoRemove === true;
      // The record's fsync overlaps the task's release (runtime delete, unmounts, sandbox): the
      // record needs nothing of it, and a crash in between leaves what a crash during a start
      // leaves — a stopped record with a stale task, mount or sandbox, which the daemon's
      // restore (stale tasks, sandboxes), the next start (a mounted rootfs is reused) and the
      // removal (a mounted layer is unmounted) take care of. Nothing is reported (event,
      // waiters, --rm) before both are done, and the lock is held throughout.
      // A container removed right after its exit is not rewritten for it: the removal's trash
      // rename follows, and a crash in between leaves it recorded as running, which restore turns
      // into this same exit and removal. (If the removal fails, the exit is saved then.)
      // The task's deletion (runtime state, cgroups, bundle) is handed to the removal that follows,
      // which commits and deletes the layers meanwhile (the rootfs is unmounted first) and waits for
      // it before it reports: a crash in between leaves a task no container names, which the next
      // start deletes (restore's stale tasks).
      if (remove) this.ctx.store.setInMemory(next);
      const [released, saved] = await Promise.allSettled([
        releaseTask(this.ctx, c, live, { deleteTask: true, exited: true, handOff: remove }),
        remove ? Promise.resolve() : this.ctx.store.save(next),
      ]);
      if (released.status === 'fulfilled') taskDeleted = released.value.taskDeleted;
      if (released.status === 'rejected') throw released.reason;
      if (saved.status === 'rejected') throw saved.reason;
      this.ctx.emit('die', next, { exitCode: String(exit.exitCode), execDuration: String(Math.floor(runMs / 1000)) });
      this.ctx.waiters.stopped(id, { exitCode: exit.exitCode, error: next.State.Error || undefined });
      if (decision.restart) this.scheduleRestart(id, decision.delayMs, exit);
    });
    if (remove) await this.autoRemove(id, taskDeleted);
  }

  private scheduleRestart(id: string, delayMs: number, exit: ExitStatus): void {
    const rt = this.ctx.runtimes.get(id);
    if (!rt) return;
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      void this.ctx.locks.run(id, async () => {
        const c = this.ctx.store.resolve(id);
        if (!c.State.Restarting) return;
        await this.startLocked(id);
      }).catch(async (err: unknown) => {
        this.ctx.log.debug('failed to restart container', { container: id, error: err });
        await this.settleStopped(id, exit);
      });
    }, delayMs);
  }

  /** A restart that will not happen (canceled or failed): the container is stopped for good. */
  private async settleStopped(id: string, exit: ExitStatus): Promise<void> {
    let remove = false;
    await this.ctx.locks.run(id, async () => {
      const c = this.ctx.store.tryResolve(id);
      if (!c || !c.State.Restarting) return;
      const rt = this.ctx.runtimes.get(id);
      if (rt?.restartTimer) clearTimeout(rt.restartTimer);
      if (rt) rt.restartTimer = undefined;
      const next = { ...c, State: stoppedState(c.State, exit) };
      await this.ctx.store.save(next);
      this.ctx.waiters.stopped(id, { exitCode: exit.exitCode, error: next.State.Error || undefined });
      remove = c.HostConfig.AutoRemove === true;
    });
    if (remove) await this.autoRemove(id);
  }

  /** `docker stop`: the stop signal, the timeout, then SIGKILL; 304 when not running. */
  async stop(ref: string, opts: StopOptions = {}): Promise<void> {
    const c = this.ctx.store.resolve(ref);
    if (!c.State.Running) throw new NotModifiedError('Container already stopped');
    await this.stopRunning(c, opts);
  }

  private async stopRunning(c: ContainerRecord, opts: StopOptions): Promise<void> {
    const sig = opts.signal ? parseSignal(opts.signal) : parseSignal(c.Config.StopSignal || 'SIGTERM');
    const timeoutS = opts.timeout ?? c.Config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    let waitMs = timeoutS < 0 ? Infinity : timeoutS * 1000;
    try {
      await this.killWithSignal(c.Id, sig.name);
    } catch (err) {
      if (!(err instanceof ConflictError)) this.ctx.log.warn('error sending the stop signal', { container: c.Id, error: err });
      waitMs = Math.min(waitMs, 2000);
    }
    if (!(await this.waitNotRunning(c.Id, waitMs))) {
      this.ctx.log.info(`Container failed to exit within ${timeoutS}s of signal ${sig.number} - using the force`, { container: c.Id });
      await this.killAndWait(c.Id);
    }
    const after = this.ctx.store.tryResolve(c.Id);
    if (after) this.ctx.emit('stop', after);
  }

  /** `docker kill`: SIGKILL (and waits for the exit) or any other signal; 409 when not running. */
  async kill(ref: string, signal?: string): Promise<void> {
    const sig = signal ? parseSignal(signal) : parseSignal(SIGKILL);
    const c = this.ctx.store.resolve(ref);
    if (sig.number === SIGKILL) {
      if (!c.State.Running) throw new ConflictError(`Container ${c.Id} is not running`);
      await this.killAndWait(c.Id);
      return;
    }
    await this.killWithSignal(c.Id, sig.name);
  }

  private async killAndWait(id: string): Promise<void> {
    await this.killWithSignal(id, 'SIGKILL').catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
    if (!(await this.waitNotRunning(id, 10_000))) throw new SystemError(`tried to kill container, but did not receive an exit event`);
  }

  /** dockerd's killWithSignal: marks the container stopped by hand, stops restarting, unpauses for the signal. */
  private async killWithSignal(id: string, signal: string): Promise<void> {
    await this.ctx.locks.run(id, async () => {
      const c = this.ctx.store.resolve(id);
      if (!c.State.Running) throw new ConflictError(`Container ${c.Id} is not running`);
      const sig = parseSignal(signal);
      const rt = runtimeOf(this.ctx, c);
      const stopSignal = c.Config.StopSignal ? parseSignal(c.Config.StopSignal).number : undefined;
      const exitOnNext = sig.number === SIGKILL || stopSignal === undefined || stopSignal === sig.number;
      if (exitOnNext) rt.restart.cancel();
      if (!this.ctx.shuttingDown && !c.HasBeenManuallyStopped) await this.ctx.store.save({ ...c, HasBeenManuallyStopped: true });
      if (c.State.Restarting) {
        if (exitOnNext) void this.settleStopped(id, { exitCode: c.State.ExitCode, oomKilled: c.State.OOMKilled, exitedAt: new Date(c.State.FinishedAt) });
        return;
      }
      const live = rt.live;
      if (!live) throw new ConflictError(`Container ${c.Id} is not running`);
      try {
        await live.task.kill(sig.name);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw new SystemError(`Cannot kill container ${c.Id}: ${errorMessage(err)}`, { cause: err });
      }
      if (exitOnNext && c.State.Paused) {
        await live.task.resume().catch((err: unknown) => this.ctx.log.warn('cannot unpause container', { container: id, error: err }));
        const resumed = { ...this.ctx.store.resolve(id), State: pausedState(c.State, false) };
        await this.ctx.store.save(resumed);
        this.ctx.emit('unpause', resumed);
        this.hooks?.pausedChanged(id);
      }
      this.ctx.emit('kill', this.ctx.store.resolve(id), { signal: String(sig.number) });
    });
  }

  async pause(ref: string): Promise<void> {
    const id = this.ctx.store.resolve(ref).Id;
    await this.ctx.locks.run(id, async () => {
      const c = this.ctx.store.resolve(id);
      if (!c.State.Running) throw new ConflictError(`Container ${c.Id} is not running`);
      if (c.State.Paused) throw new ConflictError(`Container ${c.Id} is already paused`);
      if (c.State.Restarting) throw new ConflictError(`Container ${c.Id} is restarting, wait until the container is running`);
      const live = this.live(id);
      if (!live) throw new ConflictError(`Container ${c.Id} is not running`);
      await live.task.pause().catch((err: unknown) => {
        throw new SystemError(`Cannot pause container ${c.Id}: ${errorMessage(err)}`, { cause: err });
      });
      const next = { ...c, State: pausedState(c.State, true) };
      await this.ctx.store.save(next);
      this.ctx.emit('pause', next);
      this.hooks?.pausedChanged(id);
    });
  }

  async unpause(ref: string): Promise<void> {
    const id = this.ctx.store.resolve(ref).Id;
    await this.ctx.locks.run(id, async () => {
      const c = this.ctx.store.resolve(id);
      if (!c.State.Paused) throw new ConflictError(`Container ${c.Id} is not paused`);
      const live = this.live(id);
      if (!live) throw new ConflictError(`Container ${c.Id} is not running`);
      await live.task.resume().catch((err: unknown) => {
        throw new SystemError(`Cannot unpause container ${c.Id}: ${errorMessage(err)}`, { cause: err });
      });
      const next = { ...c, State: pausedState(c.State, false) };
      await this.ctx.store.save(next);
      this.ctx.emit('unpause', next);
      this.hooks?.pausedChanged(id);
    });
  }

  /** `docker restart`: stop if running (no auto-remove for that exit), then start. */
  async restart(ref: string, opts: StopOptions = {}): Promise<void> {
    const c = this.ctx.store.resolve(ref);
    const rt = runtimeOf(this.ctx, c);
    try {
      if (c.State.Running) {
        rt.manualRestart = true;
        await this.stopRunning(c, opts);
      }
      await this.start(c.Id).catch((err: unknown) => {
        if (!(err instanceof NotModifiedError)) throw err;
      });
    } catch (err) {
      if (err instanceof TaskStartError) throw err;
      throw new SystemError(`Cannot restart container ${ref}: ${errorMessage(err)}`, { cause: err });
    } finally {
      rt.manualRestart = false;
    }
    this.ctx.emit('restart', this.ctx.store.resolve(c.Id));
  }

  /** Forced removal: kill a running (or restarting) container and wait until its exit is handled. */
  async forceStop(id: string): Promise<void> {
    const rt = this.ctx.runtimes.get(id);
    rt?.restart.cancel();
    const c = this.ctx.store.resolve(id);
    if (c.State.Restarting) {
      await this.settleStopped(id, { exitCode: c.State.ExitCode, oomKilled: c.State.OOMKilled, exitedAt: new Date(c.State.FinishedAt) });
      return;
    }
    if (!c.State.Running) return;
    await this.killAndWait(id);
    await rt?.live?.exited;
  }

  async wait(ref: string, condition: WaitCondition): Promise<ContainerWait> {
    const c = this.ctx.store.resolve(ref);
    const shape = (s: { exitCode: number; error?: string }) => ({ StatusCode: s.exitCode, Error: s.error ? { Message: s.error } : null });
    if (condition === 'not-running' && !c.State.Running) {
      return { result: Promise.resolve(shape({ exitCode: c.State.ExitCode, error: c.State.Error || undefined })), cancel: () => undefined };
    }
    const w = this.ctx.waiters.add(c.Id, condition);
    return { result: w.promise.then(shape), cancel: w.cancel };
  }

  async resize(ref: string, size: ConsoleSize): Promise<void> {
    const c = this.ctx.store.resolve(ref);
    const live = this.live(c.Id);
    if (!c.State.Running || !live) throw new ConflictError(`Container ${c.Id} is not running`);
    // A container without a TTY has nothing to resize; containerd answers success, so does dockerd.
    if (c.Config.Tty) await live.task.resize(size);
    this.ctx.emit('resize', c, { height: String(size.height), width: String(size.width) });
  }

  /** Resolves true once the container is not running, false after `ms`. */
  private async waitNotRunning(id: string, ms: number): Promise<boolean> {
    const c = this.ctx.store.tryResolve(id);
    if (!c || !c.State.Running) return true;
    const w = this.ctx.waiters.add(id, 'not-running');
    if (ms === Infinity) {
      await w.promise;
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
    const done = await Promise.race([w.promise.then(() => true as const), timedOut]);
    clearTimeout(timer);
    w.cancel();
    return done;
  }
}
