import { spawn, type ChildProcess } from 'node:child_process';
import { getSystemErrorName } from 'node:util';
import { commandPath } from './run-command.js';

/**
 * mount(2) and umount2(2) through one long-lived helper process instead of
 * a util-linux `mount`/`umount` per call. Node has no binding for them, and
 * every spawn forks the whole daemon: measured here, each one costs the
 * daemon several milliseconds of CPU and the caller ~5 ms more than the
 * syscall itself, twice per container run (rootfs mount at start, unmount at
 * exit). The helper is Perl (perl-base is Essential on Debian, so always
 * there), whose `syscall` builtin makes the two calls directly: a 20-line
 * loop that reads one request per line, makes the call, and answers the
 * errno (0 on success). It is started on first use, ends when its stdin
 * closes (the daemon stopped or died), and is restarted if it dies.
 *
 * Without perl, on an architecture whose syscall numbers are not listed, or
 * with BERTH_MOUNT_HELPER=0, `available()` is false and callers spawn
 * util-linux as before.
 */

/** Syscall numbers of mount and umount2 (include/uapi/asm-generic/unistd.h and arch/x86 tables). */
const SYSCALLS: Partial<Record<string, { mount: number; umount2: number }>> = {
  x64: { mount: 165, umount2: 166 },
  arm64: { mount: 40, umount2: 39 },
  riscv64: { mount: 40, umount2: 39 },
  ia32: { mount: 21, umount2: 52 },
};

/** umount2 flag: detach now, clean up when no longer busy. */
export const MNT_DETACH = 2;

// Fields are hex-encoded (any byte can be in a path). `m cwd source target fstype flags data`;
// `u target flags`. A relative mount chdirs for the call and back to / (so the helper never
// holds a directory busy).
const SCRIPT = `
use strict; $| = 1;
$0 = 'berthd-mount-helper';
my ($MOUNT, $UMOUNT2) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, @f) = split / /, $line, -1;
  my @a = map { pack('H*', $_) } @f;
  my $r;
  if ($op eq 'm' && @a == 6) {
    my ($cwd, $src, $target, $type, $flags, $data) = @a;
    if ($cwd ne '' && !chdir($cwd)) { print(($! + 0) . "\\n"); next; }
    $r = syscall($MOUNT, $src, $target, $type, $flags + 0, $data);
    my $errno = $! + 0;
    chdir('/') if $cwd ne '';
    print(($r == 0 ? 0 : $errno) . "\\n");
  } elsif ($op eq 'u' && @a == 2) {
    my ($target, $flags) = @a;
    $r = syscall($UMOUNT2, $target, $flags + 0);
    print(($r == 0 ? 0 : $! + 0) . "\\n");
  } else {
    print "22\\n";
  }
}
`;

/** A failed mount(2)/umount2(2): the errno and its name, as the kernel answered. */
export class MountSyscallError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    super(`${call}: ${errnoText(errno)}`);
    this.name = 'MountSyscallError';
  }

  /** The errno's symbolic name (EINVAL, EBUSY …). */
  get code(): string {
    return errnoName(this.errno);
  }
}

function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `errno ${errno}`;
  }
}

function errnoText(errno: number): string {
  const messages: Record<string, string> = {
    EINVAL: 'invalid argument', EBUSY: 'device or resource busy', ENOENT: 'no such file or directory',
    EPERM: 'operation not permitted', ENODEV: 'no such device', ENOTDIR: 'not a directory', EACCES: 'permission denied',
  };
  const name = errnoName(errno);
  return messages[name] ? `${messages[name]} (${name})` : name;
}

interface Pending {
  resolve(errno: number): void;
  reject(err: Error): void;
}

/** One running helper and the requests it has not answered yet (it answers in order). */
interface Running {
  child: ChildProcess;
  pending: Pending[];
}

class MountHelper {
  private current?: Running;
  private perl?: string | null;

  /** Whether mount/umount go through the helper on this host. */
  available(): boolean {
    if (process.env.BERTH_MOUNT_HELPER === '0' || !SYSCALLS[process.arch]) return false;
    if (this.perl === undefined) {
      const p = commandPath('perl');
      this.perl = p.startsWith('/') ? p : null;
    }
    return this.perl !== null;
  }

  async mount(source: string, target: string, fstype: string, flags: number, data: string, cwd = ''): Promise<void> {
    const errno = await this.request(['m', cwd, source, target, fstype, String(flags), data]);
    if (errno !== 0) throw new MountSyscallError(`mount ${fstype} on ${target}`, errno);
  }

  async umount(target: string, flags = 0): Promise<void> {
    const errno = await this.request(['u', target, String(flags)]);
    if (errno !== 0) throw new MountSyscallError(`umount ${target}`, errno);
  }

  /** The pid of the running helper, if one runs (for tests). */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  private request(fields: string[]): Promise<number> {
    const run = this.current ?? this.start();
    const [op, ...args] = fields;
    return new Promise((resolve, reject) => {
      run.pending.push({ resolve, reject });
      // Held by the event loop only while an answer is awaited.
      pipe(run.child).ref();
      run.child.stdin!.write(`${op} ${args.map((a) => Buffer.from(a).toString('hex')).join(' ')}\n`);
    });
  }

  private start(): Running {
    const nums = SYSCALLS[process.arch]!;
    const child = spawn(this.perl!, ['-e', SCRIPT, String(nums.mount), String(nums.umount2)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const run: Running = { child, pending: [] };
    this.current = run;
    child.unref();
    pipe(child).unref();
    child.stdin!.on('error', () => { /* the exit below fails what was pending */ });
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      buf += text;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        run.pending.shift()?.resolve(Number(line));
      }
      if (run.pending.length === 0) pipe(child).unref();
    });
    const gone = (why: string) => {
      if (this.current === run) this.current = undefined;
      // Whether a request in flight took effect is unknown: its caller gets an error, not a guess.
      for (const p of run.pending.splice(0)) p.reject(new Error(`mount helper: ${why}`));
    };
    child.on('error', (err) => gone(err.message));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    return run;
  }

  /**
   * Ends the helper: it answers what it was sent, then exits at the end of
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

/** The one helper of this process, shared by the graph drivers. */
export const mountHelper = new MountHelper();
