import { basename, join } from 'node:path';
import { startThroughExecFifo } from './exec-fifo.js';
import { destroyExited } from './runc-destroy.js';
import { spawn } from 'node:child_process';
import { ConflictError, NotFoundError, SystemError } from '../../kernel/index.js';
import type { OciResources } from './oci-types.js';

/** `runc state` output (runtime-spec state plus runc's fields). */
export interface RuntimeState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  created?: string;
}

/**
 * The OCI runtime command line (go-runc's surface) for runc, crun and any
 * runtime with runc's CLI. Every call passes `--root <exec-root>/runtime/<name>`
 * so Berth's containers live in their own state directory and never touch
 * another daemon's (/run/runc, /run/docker/runtime-runc). `create` and `exec`
 * are issued by the monitor (conmon), which must be the runtime's parent to
 * hold the stdio and reap the process; the rest are short calls from here.
 */
export class RuntimeCli {
  constructor(
    readonly name: string,
    readonly path: string,
    readonly root: string,
    /** `runtimeArgs` from daemon.json, before the command. */
    readonly extraArgs: readonly string[] = [],
  ) {}

  /** runc itself, with its own state layout: some calls are done in-process (exec-fifo.ts, runc-destroy.ts). */
  private get plainRunc(): boolean {
    return this.name === 'runc' && basename(this.path) === 'runc' && this.extraArgs.length === 0;
  }

  /** Global arguments, for the monitor to pass as `--runtime-arg`s. */
  globalArgs(): string[] {
    return [...this.extraArgs, '--root', this.root];
  }

  /** With the init pid, runc itself is not spawned: its start is the exec FIFO (exec-fifo.ts). */
  async start(id: string, initPid?: number): Promise<void> {
    if (initPid && this.plainRunc && (await startThroughExecFifo(join(this.root, id), initPid))) return;
    await this.run(['start', id]);
  }

  async state(id: string): Promise<RuntimeState> {
    return JSON.parse(await this.run(['state', id])) as RuntimeState;
  }

  /** `all` signals every process of the container (docker kill on a shared pid ns). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  async ps(id: string): Promise<number[]> {
    const out = (await this.run(['ps', '--format', 'json', id])).trim();
    return out ? (JSON.parse(out) as number[] | null) ?? [] : [];
  }

  /** One sample of `runc events --stats` (runc only; crun has no `events`). */
  async eventsStats(id: string): Promise<Record<string, unknown>> {
    const out = JSON.parse(await this.run(['events', '--stats', id])) as { data?: Record<string, unknown> };
    return out.data ?? {};
  }

  async update(id: string, resources: OciResources): Promise<void> {
    await this.run(['update', '--resources', '-', id], JSON.stringify(resources));
  }

  /** Of an exited container, runc's destroy is done in-process when it is simple (runc-destroy.ts). */
  async delete(id: string, force = false): Promise<void> {
    if (this.plainRunc && (await destroyExited(join(this.root, id)))) return;
    await this.run(['delete', ...(force ? ['--force'] : []), id]);
  }

  async version(): Promise<string> {
    const out = await this.run(['--version']).catch(() => '');
    return /version\s+(\S+)/.exec(out)?.[1] ?? '';
  }

  /** Runs the runtime; a non-zero exit becomes NotFound/Conflict/System with the runtime's message. */
  private run(args: string[], input?: string): Promise<string> {
    const argv = [...this.globalArgs(), ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(this.path, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new SystemError(`${this.name}: ${e.message}`, { cause: e })));
      child.stdin.on('error', () => { /* exit status tells */ });
      child.stdin.end(input ?? '');
      child.on('close', (code) => {
        if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
        const text = Buffer.concat(err).toString('utf8') || Buffer.concat(out).toString('utf8');
        reject(classifyRuntimeError(runtimeMessage(text) || `${this.name} ${args[0]} exited with status ${code}`));
      });
    });
  }
}

/**
 * The message in a runtime's stderr: runc logs logfmt
 * (`time=… level=error msg="…"`) or JSON (`{"msg":…}`), crun plain text.
 */
export function runtimeMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const msgs: string[] = [];
  for (const line of lines) {
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line) as { msg?: string; level?: string };
        if (j.msg) msgs.push(j.msg);
        continue;
      } catch { /* not JSON after all */ }
    }
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
    msgs.push(m ? (JSON.parse(`"${m[1]}"`) as string) : line);
  }
  return msgs.join('; ');
}

/** Maps a runtime message onto the kernel's error kinds (containerd's errdefs mapping of runc errors). */
export function classifyRuntimeError(message: string): Error {
  if (/does not exist|not found|no such file or directory/i.test(message) && !/exec:|executable/i.test(message)) return new NotFoundError(message);
  if (/not running|not paused|is not stopped|container is paused|cannot .* a (running|paused|stopped)|already (exists|running|paused)/i.test(message)) return new ConflictError(message);
  return new SystemError(message);
}
