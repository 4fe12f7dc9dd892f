import { spawn, type ChildProcess } from 'node:child_process';
import { commandPath } from './command-path.js';

/**
 * A long-lived Perl process that serves the daemon one request per line on
 * its stdin and answers one line per request on its stdout: the lifecycle
 * the mount helper (plugins/graph-common/mount-helper.ts) and the spawn
 * helper (plugins/exec-libcontainer/spawn-helper.ts) share, each with its
 * own script and its own request and answer fields.
 *
 * Perl because perl-base is Essential on Debian (always there) and a small
 * Perl process forks and makes syscalls that Node has no binding for,
 * without the daemon forking its whole heap for each one. The helper starts
 * on first request, ends when its stdin closes (stop(), or the daemon
 * stopped or died), and a request after it died starts another. Requests
 * in flight when it dies are rejected (`<name>: exited (SIGKILL)`): whether
 * they took effect is unknown, so the caller gets an error, not a guess.
 * Neither the process nor its answer pipe keeps the daemon alive, except
 * while an answer is awaited.
 */
export interface PerlHelperOptions {
  /** Starts every error message: `mount helper: exited (SIGKILL)`. */
  name: string;
  /** The program, run as `perl -e <script> <args…>`. */
  script: string;
  /** Arguments after the script (`@ARGV`). */
  args?: string[];
  /** Whether the helper may be used on this host (an opt-out variable, a known architecture…); perl is looked for only then. */
  enabled(): boolean;
  /**
   * Which request an answer settles, when the script answers in the order
   * its work finishes and tags each answer with the request's id. Without
   * it, answers settle requests in the order they were sent.
   */
  answerId?(line: string): number;
}

interface Pending {
  resolve(line: string): void;
  reject(err: Error): void;
}

/** One running helper and the requests it has not answered yet, by id (in the order sent). */
interface Running {
  child: ChildProcess;
  pending: Map<number, Pending>;
}

export class PerlHelper {
  private current?: Running;
  private perl?: string | null;
  private nextId = 1;

  constructor(private readonly opts: PerlHelperOptions) {}

  /** Whether requests may go through the helper on this host (enabled, and perl found). */
  available(): boolean {
    return this.opts.enabled() && this.findPerl() !== null;
  }

  /** perl's absolute path (looked up once), or null when it is not installed. */
  private findPerl(): string | null {
    if (this.perl === undefined) {
      const p = commandPath('perl');
      this.perl = p.startsWith('/') ? p : null;
    }
    return this.perl;
  }

  /** The pid of the running helper, if one runs (for tests). */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Whether a helper process is running (started and not stopped or gone). */
  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Sends the line `build(id)` makes (without its newline; `id` is this
   * request's, for scripts that tag answers) and resolves with the answer
   * line (without its newline). Starts the helper if none runs; callers ask
   * available() first (without perl, the request fails: `<name>: spawn perl ENOENT`).
   */
  request(build: (id: number) => string): Promise<string> {
    const run = this.current ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      run.pending.set(id, { resolve, reject });
      // Held by the event loop only while an answer is awaited.
      pipe(run.child).ref();
      run.child.stdin!.write(`${build(id)}\n`);
    });
  }

  private start(): Running {
    const child = spawn(this.findPerl() ?? 'perl', ['-e', this.opts.script, ...(this.opts.args ?? [])], { stdio: ['pipe', 'pipe', 'ignore'] });
    const run: Running = { child, pending: new Map() };
    this.current = run;
    child.unref();
    pipe(child).unref();
    child.stdin!.on('error', () => { /* the exit below fails what was pending */ });
    const answerId = this.opts.answerId;
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      buf += text;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const id = answerId ? answerId(line) : run.pending.keys().next().value;
        const p = id === undefined ? undefined : run.pending.get(id);
        if (!p) continue;
        run.pending.delete(id!);
        p.resolve(line);
      }
      if (run.pending.size === 0) pipe(child).unref();
    });
    const gone = (why: string) => {
      if (this.current === run) this.current = undefined;
      for (const p of run.pending.values()) p.reject(new Error(`${this.opts.name}: ${why}`));
      run.pending.clear();
    };
    child.on('error', (err) => gone(err.message));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    // The process handle is unref'd: its answer pipe closing is what keeps a waiting caller from hanging.
    child.stdout!.on('close', () => gone('exited (answer pipe closed)'));
    return run;
  }

  /**
   * Ends the helper: it finishes what it was sent, then exits at the end of
   * its stdin. The next request starts another.
   */
  stop(): void {
    const run = this.current;
    if (!run) return;
    this.current = undefined;
    run.child.stdin!.end();
  }
}

function pipe(child: ChildProcess): { ref(): void; unref(): void } {
  return child.stdout as unknown as { ref(): void; unref(): void };
}
