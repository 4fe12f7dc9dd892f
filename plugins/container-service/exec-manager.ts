import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import {
  ConflictError,
  InvalidParameterError,
  NotFoundError,
  TaskStartError,
  errorMessage,
  type AttachStreams,
  type ConsoleSize,
  type ContainerRecord,
  type ExecCreateConfig,
  type ExecInspect,
  type Process,
} from '../../kernel/index.js';
import { DEFAULT_DETACH_KEYS, DetachKeyFilter, parseDetachKeys } from './detach-keys.js';
import type { Lifecycle } from './lifecycle.js';
import type { ServiceContext } from './service-context.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecCreateConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  process?: Process;
  exitedAtMs?: number;
}

/** How long an exited exec stays inspectable (dockerd's exec GC runs every five minutes). */
const KEEP_EXITED_MS = 5 * 60_000;

/**
 * `docker exec` as dockerd keeps it (daemon/exec.go): exec instances live in
 * memory only, tied to a running container; start runs the process beside
 * the container's task, records its exit code before the client's stream is
 * closed (the CLI reads it right after), and emits exec_create / exec_start /
 * exec_die with the command in the action, as dockerd does.
 */
export class ExecManager {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(private readonly ctx: ServiceContext, private readonly lifecycle: Lifecycle) {}

  create(ref: string, config: ExecCreateConfig): string {
    const c = this.activeContainer(ref);
    if (!config.Cmd?.length) throw new InvalidParameterError('No exec command specified');
    if (config.DetachKeys) parseDetachKeys(config.DetachKeys);
    this.collect();
    const id = randomBytes(32).toString('hex');
    this.execs.set(id, { id, containerId: c.Id, config, running: false, started: false, exitCode: null, pid: 0 });
    this.ctx.emit(`exec_create: ${config.Cmd.join(' ')}`, c, { execID: id });
    return id;
  }

  async start(id: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null }, connect: (info: { tty: boolean }) => AttachStreams): Promise<void> {
    const ex = this.get(id);
    if (ex.running) throw new ConflictError(`Error: Exec command ${id} is already running`);
    if (ex.started) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const c = this.activeContainer(ex.containerId);
    const live = this.lifecycle.live(c.Id);
    if (!live) throw new ConflictError(`Container ${c.Id} is not running`);
    ex.running = true;
    ex.started = true;
    const cfg = ex.config;
    const tty = cfg.Tty === true;
    const streams = opts.detach ? {} : connect({ tty: opts.tty ?? tty });
    const stdout = cfg.AttachStdout ? streams.stdout : undefined;
    const stderr = cfg.AttachStderr && !tty ? streams.stderr : undefined;
    let stdin: Readable | undefined = cfg.AttachStdin ? streams.stdin : undefined;
    let detached: (() => void) | undefined;
    const detachedP = new Promise<void>((r) => { detached = r; });
    if (stdin && tty) {
      const filter = new DetachKeyFilter(parseDetachKeys(cfg.DetachKeys || DEFAULT_DETACH_KEYS));
      const upstream = stdin;
      filter.once('detach', () => {
        // The exec keeps its stdin open; only this client goes.
        upstream.unpipe(filter);
        this.ctx.emit(`exec_detach`, c, { execID: id });
        detached?.();
      });
      stdin = stdin.pipe(filter);
    }
    let proc: Process;
    try {
      proc = await live.task.exec(id, {
        Cmd: cfg.Cmd,
        Env: cfg.Env ?? undefined,
        User: cfg.User,
        WorkingDir: cfg.WorkingDir,
        Tty: tty,
        Privileged: cfg.Privileged,
        ConsoleSize: (opts.consoleSize ?? cfg.ConsoleSize) || undefined,
      }, { terminal: tty, stdin, stdout, stderr, stdinOnce: true });
      await proc.start();
    } catch (err) {
      ex.running = false;
      ex.exitCode = err instanceof TaskStartError ? err.exitCode : 126;
      ex.exitedAtMs = Date.now();
      if (opts.detach) throw err;
      // dockerd writes the error into the stream; the CLI then reads the exit code.
      if (stdout && !stdout.destroyed) stdout.end(`${errorMessage(err)}\r\n`);
      stderr?.end();
      return;
    }
    ex.process = proc;
    ex.pid = proc.pid;
    this.ctx.emit(`exec_start: ${cfg.Cmd.join(' ')}`, c, { execID: id });
    const exited = proc.wait().then((exit) => {
      // Recorded before the stream closes: the CLI asks for it as soon as the stream ends.
      ex.exitCode = exit.exitCode;
      ex.running = false;
      ex.exitedAtMs = Date.now();
      const cur = this.ctx.store.tryResolve(c.Id);
      if (cur) this.ctx.emit('exec_die', cur, { execID: id, exitCode: String(exit.exitCode) });
    }, (err: unknown) => {
      ex.running = false;
      this.ctx.log.warn('lost track of an exec process', { exec: id, error: err });
    });
    if (opts.detach) return;
    await Promise.race([
      Promise.all([exited, ...[stdout, stderr].filter((s): s is Writable => !!s).map((s) => finished(s).catch(() => undefined))]),
      detachedP,
      abortOf(streams.signal),
    ]);
  }

  inspect(id: string): ExecInspect {
    const ex = this.get(id);
    const [entrypoint = '', ...args] = ex.config.Cmd;
    return {
      ID: ex.id,
      Running: ex.running,
      ExitCode: ex.exitCode,
      ProcessConfig: { tty: ex.config.Tty === true, entrypoint, arguments: args, privileged: ex.config.Privileged === true, ...(ex.config.User ? { user: ex.config.User } : {}) },
      OpenStdin: ex.config.AttachStdin === true,
      OpenStderr: ex.config.AttachStderr === true,
      OpenStdout: ex.config.AttachStdout === true,
      CanRemove: !ex.running && ex.started,
      ContainerID: ex.containerId,
      DetachKeys: ex.config.DetachKeys ?? '',
      Pid: ex.pid,
    };
  }

  async resize(id: string, size: ConsoleSize): Promise<void> {
    const ex = this.get(id);
    if (!ex.running || !ex.process) throw new ConflictError(`Exec ${id} is not running`);
    // Like containerd, a process without a terminal has nothing to resize: no error.
    if (ex.config.Tty) await ex.process.resize(size);
  }

  /** Signals a running exec (a health probe past its timeout). */
  async kill(id: string, signal: string): Promise<void> {
    const ex = this.get(id);
    if (ex.running && ex.process) await ex.process.kill(signal).catch(() => undefined);
  }

  runningIds(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId && e.running).map((e) => e.id);
  }

  /** The container is gone: its execs go with it. */
  forget(containerId: string): void {
    for (const e of this.execs.values()) if (e.containerId === containerId) this.execs.delete(e.id);
  }

  private get(id: string): ExecRecord {
    const ex = this.execs.get(id);
    if (!ex) throw new NotFoundError(`No such exec instance: ${id}`);
    return ex;
  }

  /** dockerd's getActiveContainer: running, not paused, not restarting. */
  private activeContainer(ref: string): ContainerRecord {
    const c = this.ctx.store.resolve(ref);
    if (!c.State.Running) throw new ConflictError(`Container ${c.Id} is not running`);
    if (c.State.Paused) throw new ConflictError(`Container ${c.Id} is paused, unpause the container before exec`);
    if (c.State.Restarting) throw new ConflictError(`Container ${c.Id} is restarting, wait until the container is running`);
    return c;
  }

  private collect(): void {
    const now = Date.now();
    for (const e of this.execs.values()) if (e.exitedAtMs !== undefined && now - e.exitedAtMs > KEEP_EXITED_MS) this.execs.delete(e.id);
  }
}

function abortOf(signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  return signal.aborted ? Promise.resolve() : new Promise((r) => signal.addEventListener('abort', () => r(), { once: true }));
}
