import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ConflictError, InvalidParameterError, type ConsoleSize, type ExitStatus, type Process, type TaskIO } from '../../kernel/index.js';
import { openPipe, type FifoPool, type PipeEnds } from './fifo-pool.js';
import type { OciProcess } from './oci-types.js';
import { RuntimeCreateError } from './conmon-monitor.js';
import { runtimeMessage } from './runc-cli.js';
import { signalName } from './signals.js';
import { translateStartError } from './start-errors.js';

/** What a runtime exec needs: the runtime's command line and the exec's own directory. */
export interface RuntimeExecContext {
  /** The container, as the runtime knows it. */
  containerId: string;
  runtimePath: string;
  /** Global arguments before `exec`: daemon.json runtimeArgs, `--root`. */
  runtimeArgs: string[];
  /** The exec's directory (process.json, pid file); removed after the exit. */
  dir: string;
  fifos: FifoPool;
}

/** How long output may still come after the exit, from processes the exec left behind (dockerd's exec exit: StreamConfig.Wait with 2 s). */
const DRAIN_AFTER_EXIT_MS = 2000;

/**
 * A `docker exec` without a terminal, run by the OCI runtime in the
 * foreground as berthd's own child — `<runtime> exec --process process.json
 * --pid-file pid <id>` — instead of under a conmon of its own. The runtime
 * does every bit of the confinement as with conmon (namespaces, cgroup,
 * capabilities, seccomp, no_new_privs, user, rlimits, AppArmor): only the
 * monitor is gone. The process's stdio are pipes berthd holds (fifo-pool.ts),
 * its output goes straight to the client's streams, and its exit status is the
 * runtime's (runc and crun exit with the process's code, 128+n for signal n).
 * Nothing is written to disk but process.json and the runtime's pid file in
 * the exec root, removed after the exit.
 *
 * Like dockerd's execs, it is not restored after a daemon restart: the
 * runtime keeps running (its own session), the process keeps running, but its
 * output has no reader any more.
 *
 * Start is known from the pid file, which the runtime writes once the process
 * runs; a runtime that exits without one failed to start it, and what it
 * wrote to stderr (held back until then) is its error, translated as dockerd
 * does (127 not found, 126 not executable).
 */
export class RuntimeExecProcess implements Process {
  pid = 0;
  readonly output = undefined;
  private phase: 'new' | 'starting' | 'running' | 'exited' = 'new';
  private child?: ChildProcess;
  private exitPromise?: Promise<ExitStatus>;
  private readonly sinks = { stdout: new Set<Writable>(), stderr: new Set<Writable>() };
  private stdinPipe?: Socket;
  private readonly stdinSources = new Set<Readable>();
  /** stderr before the start is known: the runtime's error if it fails. */
  private early: Buffer[] | undefined = [];
  private outputDone = false;
  private readonly draining = new Set<Writable>();
  private pipes: Socket[] = [];

  constructor(
    readonly id: string,
    private readonly spec: OciProcess,
    private readonly io: TaskIO,
    private readonly ctx: RuntimeExecContext,
  ) {
    if (spec.terminal) throw new InvalidParameterError('a runtime exec has no terminal: a TTY exec runs under conmon');
    if (io.stdout) this.sinks.stdout.add(io.stdout);
    if (io.stderr) this.sinks.stderr.add(io.stderr);
  }

  async start(): Promise<void> {
    if (this.phase !== 'new') throw new ConflictError(`exec ${this.id} is already started`);
    this.phase = 'starting';
    const { dir } = this.ctx;
    const specPath = join(dir, 'process.json');
    const pidFile = join(dir, 'pid');
    const stdin = this.io.stdin !== undefined;
    const [paths] = await Promise.all([
      this.ctx.fifos.take(stdin ? 3 : 2),
      mkdir(dir, { recursive: true, mode: 0o700 }).then(() => writeFile(specPath, JSON.stringify(this.spec))),
    ]);
    const ends: PipeEnds[] = [];
    let watcher: FSWatcher | undefined;
    try {
      const out = openPipe(paths[0]!, 'output');
      ends.push(out);
      const err = openPipe(paths[1]!, 'output');
      ends.push(err);
      const inp = stdin ? openPipe(paths[2]!, 'input') : undefined;
      if (inp) ends.push(inp);
      // Watching before the spawn: the pid file cannot appear unseen.
      const pidSeen = new Promise<void>((resolve) => {
        watcher = watch(dir, (_ev, name) => { if (name === 'pid') resolve(); });
        watcher.on('error', () => resolve());
      });
      this.child = spawn(this.ctx.runtimePath, [...this.ctx.runtimeArgs, 'exec', '--process', specPath, '--pid-file', pidFile, this.ctx.containerId], {
        stdio: [inp?.theirs ?? 'ignore', out.theirs, err.theirs],
        // Its own session: a signal to berthd's process group never reaches the exec.
        detached: true,
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      for (const e of ends) {
        closeSync(e.theirs);
        e.theirs = -1;
      }
      const outSock = new Socket({ fd: out.ours, readable: true, writable: false });
      const errSock = new Socket({ fd: err.ours, readable: true, writable: false });
      this.pipes = [outSock, errSock];
      if (inp) this.connectStdin(new Socket({ fd: inp.ours, readable: false, writable: true }));
      ends.length = 0;
      await this.awaitStart(pidSeen, pidFile, outSock, errSock);
    } catch (err) {
      for (const e of ends) for (const fd of [e.ours, e.theirs]) if (fd >= 0) try { closeSync(fd); } catch { /* closed */ }
      for (const p of this.pipes) p.destroy();
      this.phase = 'exited';
      this.cleanup();
      throw err;
    } finally {
      watcher?.close();
    }
  }

  /** Follows the output, and resolves with the pid once the runtime has written it, or fails with the runtime's error. */
  private async awaitStart(pidSeen: Promise<void>, pidFile: string, outSock: Socket, errSock: Socket): Promise<void> {
    const child = this.child!;
    const ended = (s: Socket) => new Promise<void>((r) => { s.once('end', r); s.once('close', () => r()); s.once('error', () => r()); });
    const outEnded = ended(outSock);
    const errEnded = ended(errSock);
    this.forward(outSock, 'stdout');
    this.forward(errSock, 'stderr');
    let exited: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => { exited = r; });
    child.once('exit', (code, signal) => exited({ code, signal }));
    const spawnError = new Promise<Error>((r) => child.once('error', r));

    const first = await Promise.race([pidSeen.then(() => 'pid' as const), exit.then(() => 'exit' as const), spawnError]);
    if (first instanceof Error) throw new RuntimeCreateError(`${this.ctx.runtimePath}: ${first.message}`, { cause: first });
    let pid = await readPid(pidFile);
    if (!pid && first === 'pid') pid = await Promise.race([exit.then(() => readPid(pidFile)), pollPid(pidFile)]); // written but not complete yet
    if (!pid) {
      // No pid file: the runtime did not start the process; its stderr is its error.
      await exit;
      await Promise.race([errEnded, delay(DRAIN_AFTER_EXIT_MS)]);
      const text = Buffer.concat(this.early ?? []).toString('utf8');
      this.early = undefined;
      this.phase = 'exited';
      const { code } = await exit;
      for (const s of this.pipes) s.destroy();
      throw translateStartError(this.spec.args[0] ?? '', new RuntimeCreateError(runtimeMessage(text) || `${this.ctx.runtimePath} exec exited with status ${code}`));
    }
    this.pid = pid;
    this.phase = 'running';
    const early = this.early ?? [];
    this.early = undefined;
    for (const b of early) this.deliver('stderr', b, errSock);
    this.exitPromise = exit.then(({ code }) => {
      this.phase = 'exited';
      // The runtime exits with the process's status; without one (the runtime itself was killed) it is unknown.
      return { exitCode: code ?? 255, oomKilled: false, exitedAt: new Date() };
    });
    void exit.then(async () => {
      await Promise.race([Promise.all([outEnded, errEnded]), delay(DRAIN_AFTER_EXIT_MS)]);
      this.finishOutput();
      this.cleanup();
    });
  }

  private forward(sock: Socket, kind: 'stdout' | 'stderr'): void {
    sock.on('data', (b: Buffer) => {
      if (kind === 'stderr' && this.early) this.early.push(b);
      else this.deliver(kind, b, sock);
    });
    sock.on('error', () => { /* the end follows */ });
  }

  /** Writes to every sink of the stream; a slow one pauses the pipe (the process then blocks, as on any pipe). */
  private deliver(kind: 'stdout' | 'stderr', b: Buffer, from: Socket): void {
    for (const w of this.sinks[kind]) {
      if (w.destroyed || w.writableEnded) continue;
      if (w.write(b) || this.draining.has(w)) continue;
      this.draining.add(w);
      from.pause();
      const go = () => {
        w.off('drain', go);
        w.off('close', go);
        this.draining.delete(w);
        if (this.draining.size === 0) for (const p of this.pipes) p.resume();
      };
      w.on('drain', go);
      w.on('close', go);
    }
  }

  private connectStdin(pipe: Socket): void {
    this.stdinPipe = pipe;
    pipe.on('error', () => { /* the process closed its stdin or ended */ });
    this.pipeStdin(this.io.stdin!, this.io.stdinOnce === true);
  }

  private pipeStdin(src: Readable, closeOnEnd: boolean): void {
    this.stdinSources.add(src);
    // StdinOnce: the end of the client's stdin is the end of the process's.
    src.pipe(this.stdinPipe!, { end: closeOnEnd });
  }

  private finishOutput(): void {
    if (this.outputDone) return;
    this.outputDone = true;
    for (const p of this.pipes) p.destroy();
    const all = new Set([...this.sinks.stdout, ...this.sinks.stderr]);
    for (const w of all) if (!w.destroyed && !w.writableEnded) w.end();
  }

  private cleanup(): void {
    for (const s of this.stdinSources) s.unpipe(this.stdinPipe);
    this.stdinSources.clear();
    this.stdinPipe?.destroy();
    void rm(this.ctx.dir, { recursive: true, force: true });
  }

  async kill(signal: string | number): Promise<void> {
    if (this.phase !== 'running' || this.pid === 0) throw new ConflictError(this.phase === 'exited' ? 'process already finished' : `exec ${this.id} is not running`);
    const sig = signalName(signal);
    try {
      process.kill(this.pid, /^\d+$/.test(sig) ? Number(sig) : (sig as NodeJS.Signals));
    } catch {
      throw new ConflictError('process already finished');
    }
  }

  resize(_size: ConsoleSize): Promise<void> {
    return Promise.reject(new ConflictError('the process has no terminal'));
  }

  wait(): Promise<ExitStatus> {
    if (!this.exitPromise) return Promise.reject(new ConflictError(`exec ${this.id} is not started`));
    return this.exitPromise;
  }

  /** More streams, from now on: the output of an exec without a terminal is not kept. */
  async attach(io: TaskIO): Promise<{ detach(): void }> {
    if (io.from !== undefined && io.from !== 'end') throw new ConflictError('the output of an exec without a terminal is not kept: attach from the end only');
    if (io.stdin && !this.stdinPipe) throw new ConflictError('the process was started without stdin');
    const added = [io.stdout && [this.sinks.stdout, io.stdout], io.stderr && [this.sinks.stderr, io.stderr]].filter(Boolean) as Array<[Set<Writable>, Writable]>;
    if (this.outputDone) {
      for (const [, w] of added) w.end();
      return { detach: () => undefined };
    }
    for (const [set, w] of added) set.add(w);
    if (io.stdin && this.phase !== 'exited') this.pipeStdin(io.stdin, io.stdinOnce === true);
    return {
      detach: () => {
        for (const [set, w] of added) set.delete(w);
        if (io.stdin) {
          io.stdin.unpipe(this.stdinPipe);
          this.stdinSources.delete(io.stdin);
        }
      },
    };
  }

  /** Stops delivering output (driver dispose); the process itself is untouched and its output is drained unread. */
  detachAll(): void {
    this.sinks.stdout.clear();
    this.sinks.stderr.clear();
    for (const s of this.stdinSources) s.unpipe(this.stdinPipe);
    this.stdinSources.clear();
    for (const p of this.pipes) p.resume();
  }
}

async function readPid(file: string): Promise<number> {
  const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** A pid file seen but empty (a runtime that writes it in place): read again shortly. */
async function pollPid(file: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    await delay(5);
    const pid = await readPid(file);
    if (pid) return pid;
  }
  return 0;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
