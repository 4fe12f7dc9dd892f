import { getSystemErrorName } from 'node:util';
import { PerlHelper } from '../../lib/perl-helper.js';

/**
 * mount(2) and umount2(2) through one long-lived helper process instead of
 * a util-linux `mount`/`umount` per call. Node has no binding for them, and
 * every spawn forks the whole daemon: measured here, each one costs the
 * daemon several milliseconds of CPU and the caller ~5 ms more than the
 * syscall itself, twice per container run (rootfs mount at start, unmount at
 * exit). The helper is Perl (perl-base is Essential on Debian, so always
 * there), whose `syscall` builtin makes the two calls directly: a 30-line
 * loop that reads one request per line, makes the call (an unmount in a
 * child of its own, see SCRIPT), and answers the errno (0 on success). Its lifecycle is lib/perl-helper.ts's (shared with
 * the spawn helper): started on first use, ended when its stdin closes (the
 * daemon stopped or died), restarted if it dies.
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

// Requests are `id op fields…`, answers `id errno`, in the order the calls end. Fields are
// hex-encoded (any byte can be in a path). `m cwd source target fstype flags data`; `u target
// flags`. A relative mount chdirs for the call and back to / (so the helper never holds a
// directory busy). An unmount runs in a child of the helper: unmounting overlay (not volatile)
// syncs the whole filesystem under its upper dir (sync_filesystem), which takes from a few to
// hundreds of milliseconds on a busy disk, and must not hold up the mounts of starting
// containers (nor the other exits' unmounts) behind it. Children are reaped by the kernel
// (SIGCHLD ignored); each answer is one short write, so their lines never interleave.
const SCRIPT = `
use strict; $| = 1;
$0 = 'berthd-mount-helper';
$SIG{CHLD} = 'IGNORE';
my ($MOUNT, $UMOUNT2) = @ARGV;
while (my $line = <STDIN>) {
  chomp $line;
  my ($id, $op, @f) = split / /, $line, -1;
  my @a = map { pack('H*', $_) } @f;
  my $r;
  if ($op eq 'm' && @a == 6) {
    my ($cwd, $src, $target, $type, $flags, $data) = @a;
    if ($cwd ne '' && !chdir($cwd)) { print("$id " . ($! + 0) . "\\n"); next; }
    $r = syscall($MOUNT, $src, $target, $type, $flags + 0, $data);
    my $errno = $! + 0;
    chdir('/') if $cwd ne '';
    print("$id " . ($r == 0 ? 0 : $errno) . "\\n");
  } elsif ($op eq 'u' && @a == 2) {
    my ($target, $flags) = @a;
    my $pid = fork();
    next if $pid;
    # No child (fork failed): the call is made here, in line.
    $r = syscall($UMOUNT2, $target, $flags + 0);
    print("$id " . ($r == 0 ? 0 : $! + 0) . "\\n");
    exit(0) if defined $pid;
  } else {
    print "$id 22\\n";
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

const NUMS = SYSCALLS[process.arch];

class MountHelper extends PerlHelper {
  constructor() {
    super({
      name: 'mount helper',
      script: SCRIPT,
      args: NUMS ? [String(NUMS.mount), String(NUMS.umount2)] : [],
      enabled: () => process.env.BERTH_MOUNT_HELPER !== '0' && NUMS !== undefined,
      // Answers come in the order the calls end (unmounts run in children), each led by its request's id.
      answerId: (line) => Number(line.split(' ', 1)[0]),
    });
  }

  async mount(source: string, target: string, fstype: string, flags: number, data: string, cwd = ''): Promise<void> {
    const errno = await this.call(['m', cwd, source, target, fstype, String(flags), data]);
    if (errno !== 0) throw new MountSyscallError(`mount ${fstype} on ${target}`, errno);
  }

  async umount(target: string, flags = 0): Promise<void> {
    const errno = await this.call(['u', target, String(flags)]);
    if (errno !== 0) throw new MountSyscallError(`umount ${target}`, errno);
  }

  /** `op hex…`, answered by the errno (0 on success). */
  private async call(fields: string[]): Promise<number> {
    const [op, ...args] = fields;
    const answer = await this.request((id) => `${id} ${op} ${args.map((a) => Buffer.from(a).toString('hex')).join(' ')}`);
    return Number(answer.slice(answer.indexOf(' ') + 1));
  }
}

/** The one helper of this process, shared by the graph drivers. */
export const mountHelper = new MountHelper();
