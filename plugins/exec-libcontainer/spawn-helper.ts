import { PerlHelper } from '../../lib/perl-helper.js';

/**
 * Short-lived commands (conmon's launches) forked by one long-lived Perl
 * process instead of by the daemon. Node (libuv) starts a child with a
 * plain fork() of the whole daemon — ~70 MB of page tables copied, then
 * write-protected pages faulted back on the daemon's next writes — and the
 * event loop is blocked until the child has exec'd, which on a loaded
 * 2-core machine took ~11 ms per container in a CPU profile of the
 * lifecycle bench. The helper is a few MiB, so its fork is cheap, and the
 * daemon's thread never waits for it.
 *
 * One request per line: `s <id> <cwd> <env count> <env…> <sealed count>
 * <sealed…> <path> <argv…>` (hex fields). The child gets /dev/null on stdin and stdout, a pipe on
 * stderr and another on fd 3 (conmon's sync pipe, `_OCI_SYNCPIPE=3`). The
 * helper collects stderr until EOF and fd 3 up to its first line (or EOF),
 * reaps the child, and answers
 * `<id> <status> <fd 3 bytes> <stderr bytes>` (status: `e<code>` or
 * `s<signal>`), so nothing but bytes crosses the pipe (Node cannot pass
 * file descriptors). Children are served side by side (select loop), and
 * answers come in the order children finish.
 *
 * Sealed copies: every argument equal to one of the request's `sealed`
 * paths is replaced by `/proc/<helper pid>/fd/<n>`, a memfd holding a copy
 * of that file sealed against any change (F_SEAL_SEAL|SHRINK|GROW|WRITE),
 * made once and made again when the file changes (its device, inode, size,
 * mtime or ctime). conmon is handed runc that way (conmon-monitor.ts):
 * runc's `runc init` must not run from the host's binary, which a container
 * could overwrite through /proc/self/exe (CVE-2019-5736), so when it is not
 * running from a sealed memfd it re-executes itself from a read-only bind
 * mount of itself made for each container (mount, remount, open, umount,
 * unlink, a second execve of the 9 MB binary) or from a fresh memfd copy.
 * From a sealed memfd it does neither: runc checks exactly these seals and
 * says sharing one is safe ("you cannot write to a sealed memfd no matter
 * what"). A copy replaced by a newer one is closed a minute later, when no
 * conmon can still be about to exec it. Where memfd_create's number is not
 * known, or the copy fails, the argument is left as it was.
 *
 * Its lifecycle is lib/perl-helper.ts's (shared with the mount helper):
 * started on first use, ended when its stdin closes, restarted if it dies;
 * without perl, or with BERTH_SPAWN_HELPER=0, `available()` is false and
 * callers spawn from the daemon as before.
 */
const SCRIPT = String.raw`
use strict; use POSIX (); use Fcntl;
$| = 1;
$0 = 'berthd-spawner';
my ($wr, $ww); pipe($wr, $ww) or die "pipe: $!";
for my $h ($wr, $ww) { my $f = fcntl($h, F_GETFL, 0); fcntl($h, F_SETFL, $f | O_NONBLOCK); }
$SIG{CHLD} = sub { syswrite($ww, 'x'); };
my %kids; my %byfd; my %done; my $in = ''; my $stdin_open = 1;
sub answer {
  my ($pid) = @_; my $k = $kids{$pid};
  # fd 3 counts as done at its first full line: a monitor that outlives its parent (conmon -e)
  # keeps it open for a later message nobody waits for.
  return unless defined $k->{status} && !$k->{err} && (!$k->{sync} || index($k->{syncbuf}, "\n") >= 0);
  if ($k->{sync}) { delete $byfd{fileno($k->{sync})}; close($k->{sync}); }
  my $st = $k->{status};
  my $s = ($st & 127) ? 's' . ($st & 127) : 'e' . ($st >> 8);
  print join(' ', $k->{id}, $s, unpack('H*', $k->{syncbuf}), unpack('H*', $k->{errbuf})) . "\n";
  delete $kids{$pid};
}
# memfd_create(2) by architecture (x86_64; the asm-generic number elsewhere); 0: no sealed copies.
my %MEMFD_NR = (x86_64 => 319, aarch64 => 279, riscv64 => 279, loongarch64 => 279);
my $memfd_nr = $MEMFD_NR{(POSIX::uname())[4]} // 0;
my %sealed; my @retired;
sub sealed_copy {
  my ($path) = @_;
  my @st = stat($path) or return undef;
  my $key = join(':', @st[0, 1, 7, 9, 10]);
  my $s = $sealed{$path};
  return $s->{proc} if $s && $s->{key} eq $key;
  return undef unless $memfd_nr;
  my $name = $path; $name =~ s{.*/}{};
  my $fd = syscall($memfd_nr, $name, 3); # MFD_CLOEXEC | MFD_ALLOW_SEALING
  return undef if $fd < 0;
  open(my $m, '+<&=', $fd) or do { POSIX::close($fd); return undef; };
  open(my $src, '<', $path) or return undef;
  binmode($src); binmode($m);
  my $total = 0;
  while (1) {
    my $r = sysread($src, my $buf, 1 << 20);
    return undef unless defined $r;
    last if $r == 0;
    for (my $off = 0; $off < $r;) { my $w = syswrite($m, $buf, $r - $off, $off); return undef unless $w; $off += $w; }
    $total += $r;
  }
  close($src);
  # F_ADD_SEALS (1033): F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE, runc's RUNC_MEMFD_SEALS.
  return undef unless $total == $st[7] && fcntl($m, 1033, 15);
  push(@retired, [$s->{fh}, time() + 60]) if $s;
  $sealed{$path} = { fh => $m, key => $key, proc => "/proc/$$/fd/$fd" };
  return $sealed{$path}{proc};
}
sub start {
  my ($id, @f) = @_;
  my @a = map { pack('H*', $_) } @f;
  my $cwd = shift @a; my $n = shift @a; my @env = splice(@a, 0, $n);
  my $ns = shift @a; my @seal = splice(@a, 0, $ns);
  @retired = grep { $_->[1] > time() || !close($_->[0]) } @retired;
  for my $p (@seal) {
    my $copy = sealed_copy($p);
    @a = map { $_ eq $p ? $copy : $_ } @a if defined $copy;
  }
  my $path = $a[0];
  pipe(my $sr, my $sw) or do { print "$id e127 \n"; return; };
  pipe(my $er, my $ew) or do { print "$id e127 \n"; return; };
  my $pid = fork();
  if (!defined $pid) { print "$id e127  " . unpack('H*', "fork: $!") . "\n"; return; }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT';
    # fds 0-3 by dup2 (fd 1 is the answer pipe: it must not reach the child).
    my $null = POSIX::open('/dev/null', POSIX::O_RDWR());
    POSIX::dup2($null, 0); POSIX::dup2($null, 1);
    POSIX::dup2(fileno($ew), 2); POSIX::dup2(fileno($sw), 3);
    # Every source fd is above 3 (0-2 are the helper's stdio, 3-4 its wake pipe), so each dup2
    # makes a new descriptor, which is not close-on-exec; the sources are (perl's) or get closed.
    POSIX::close($null);
    if ($cwd ne '' && !chdir($cwd)) { syswrite(STDERR, "chdir $cwd: $!"); POSIX::_exit(127); }
    %ENV = map { split(/=/, $_, 2) } @env;
    exec { $path } @a;
    syswrite(STDERR, "exec $path: $!"); POSIX::_exit(127);
  }
  close($sw); close($ew);
  $kids{$pid} = { id => $id, sync => $sr, err => $er, syncbuf => '', errbuf => '' };
  $byfd{fileno($sr)} = [$pid, 'sync']; $byfd{fileno($er)} = [$pid, 'err'];
}
while ($stdin_open || %kids) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 if $stdin_open;
  vec($rin, fileno($wr), 1) = 1;
  vec($rin, $_, 1) = 1 for keys %byfd;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0;
  if (vec($rout, fileno($wr), 1)) {
    my $x; while (sysread($wr, $x, 64)) {}
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
      next unless $kids{$pid};
      $kids{$pid}{status} = $?; answer($pid);
    }
  }
  for my $fd (keys %byfd) {
    next unless $byfd{$fd} && vec($rout, $fd, 1);
    my ($pid, $which) = @{$byfd{$fd}};
    my $k = $kids{$pid};
    my $r = sysread($k->{$which}, my $buf, 65536);
    next if !defined $r && $!{EINTR};
    if ($r) { $k->{$which . 'buf'} .= $buf; answer($pid) if $which eq 'sync'; next; }
    close($k->{$which}); delete $k->{$which}; delete $byfd{$fd};
    answer($pid);
  }
  if ($stdin_open && vec($rout, fileno(STDIN), 1)) {
    my $r = sysread(STDIN, my $buf, 65536);
    if (!$r) { $stdin_open = 0 unless !defined $r && $!{EINTR}; next; }
    $in .= $buf;
    while ((my $nl = index($in, "\n")) >= 0) {
      my $line = substr($in, 0, $nl); $in = substr($in, $nl + 1);
      my ($op, $id, @f) = split / /, $line, -1;
      start($id, @f) if $op eq 's';
    }
  }
}
`;

/** How a helper-spawned command ended, and what it wrote on fd 3 and stderr. */
export interface SpawnResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** Signal number that ended it, or null. */
  signal: number | null;
  fd3: Buffer;
  stderr: Buffer;
}

const hex = (s: string) => Buffer.from(s).toString('hex');

class SpawnHelper extends PerlHelper {
  constructor() {
    super({
      name: 'spawn helper',
      script: SCRIPT,
      enabled: () => process.env.BERTH_SPAWN_HELPER !== '0',
      // Answers come in the order children finish, each led by its request's id.
      answerId: (line) => Number(line.split(' ', 1)[0]),
    });
  }

  /**
   * Runs `path argv…` in `cwd` with exactly `env`, and resolves when it has exited and closed fd 3 and stderr.
   * Arguments equal to one of `sealed` are replaced by the helper's sealed copy of that file (see above).
   */
  run(path: string, argv: string[], cwd: string, env: Record<string, string>, sealed: string[] = []): Promise<SpawnResult> {
    if (!this.running && !this.available()) return Promise.reject(new Error('spawn helper: not available (no perl, or BERTH_SPAWN_HELPER=0)'));
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const fields = [cwd, String(envList.length), ...envList, String(sealed.length), ...sealed, path, ...argv].map(hex);
    return this.request((id) => `s ${id} ${fields.join(' ')}`).then((line) => {
      const [, status = '', fd3 = '', stderr = ''] = line.split(' ');
      const n = Number(status.slice(1));
      return { code: status[0] === 'e' ? n : null, signal: status[0] === 's' ? n : null, fd3: Buffer.from(fd3, 'hex'), stderr: Buffer.from(stderr, 'hex') };
    });
  }
}

/** The one helper of this process. */
export const spawnHelper = new SpawnHelper();
