/**
 * The small shell scripts the shim runs (see shim-script.ts), one per task
 * and per exec, with every argument single-quoted so no byte of a command
 * line is interpreted by a shell.
 *
 * TTYs: LXC gives a TTY container its console — a pty of the container's own
 * devpts, so `tty` says /dev/pts/0 as under runc — and proxies it to
 * lxc-start's controlling terminal; `lxc-attach` likewise allocates a pty in
 * the container when its stdin is a terminal. conmon holds pipes, so the
 * script runs them under util-linux `script`, which puts a pty between
 * conmon's pipes and LXC's proxy. The path of that pty is written to a `tty`
 * file: `stty -F` on it is how a resize reaches LXC (which forwards
 * SIGWINCH's new size to the container's pty). Without stdin, the pty's input
 * is a FIFO the script itself holds open, so `script` never sees an EOF it
 * would pass on as ^D.
 */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const q = shellQuote;

export interface StartScript {
  /** Start gate: the script blocks reading it until Task.start writes a line. */
  fifo: string;
  lxcStart: string[];
  terminal: boolean;
  stdin: boolean;
  /** For a terminal: where the outer pty's path is written, the held-open stdin FIFO, the initial size. */
  ttyFile: string;
  holdFifo: string;
  consoleSize?: { height: number; width: number };
}

/** start.sh: wait for the start gate, then become lxc-start (directly, or under `script` for a TTY). */
export function startScript(s: StartScript): { main: string; tty?: string } {
  const gate = `read _ < ${q(s.fifo)} || exit 1\n`;
  const run = `exec ${s.lxcStart.map(q).join(' ')}\n`;
  if (!s.terminal) return { main: gate + run };
  return { main: gate + ttyWrapper(s.stdin, s.holdFifo, `${s.ttyFile}.sh`), tty: ttyPrologue(s.ttyFile, s.consoleSize) + run };
}

export interface ExecScript {
  lxcAttach: string[];
  terminal: boolean;
  stdin: boolean;
  ttyFile: string;
  holdFifo: string;
  consoleSize?: { height: number; width: number };
}

/**
 * exec.sh: become lxc-attach. For a TTY, lxc-attach allocates the exec's pty
 * and forces ONLCR on its own terminal (`script`'s pty) as lxc-start does, but
 * an exec has no hook that runs before the process: every newline would
 * reach the client as \r\r\n. So the TTY output passes through a small perl
 * filter (perl-base is Essential in Debian) that turns \r\r\n back into
 * \r\n, holding back only a trailing \r\r until the next read; perl runs
 * `script` and exits with its status, so conmon still sees the exec's exit.
 */
export function execScript(s: ExecScript): { main: string; tty?: string } {
  const run = `exec ${s.lxcAttach.map(q).join(' ')}\n`;
  if (!s.terminal) return { main: run };
  const hold = s.stdin ? '' : `exec 0<> ${q(s.holdFifo)}\n`;
  const script = ['script', '-qefc', `exec sh ${q(`${s.ttyFile}.sh`)}`, '/dev/null'].map(q).join(' ');
  return { main: `${hold}SHELL=/bin/sh exec perl -e ${q(CRLF_FILTER)} ${script}\n`, tty: ttyPrologue(s.ttyFile, s.consoleSize) + run };
}

/** perl: run @ARGV, copy its output with \r\r\n → \r\n, exit as it did (128+n for a signal). */
export const CRLF_FILTER = [
  'open(my $in, "-|", @ARGV) or exit 127; binmode $in; binmode STDOUT; my $c = "";',
  'while (sysread($in, my $b, 65536)) { $b = $c . $b; $c = $b =~ s/(\r\r)\z// ? $1 : ""; $b =~ s/\r\r\n/\r\n/g; syswrite(STDOUT, $b) }',
  'syswrite(STDOUT, $c) if length $c; close($in); exit($? & 127 ? 128 + ($? & 127) : $? >> 8);',
].join(' ');

function ttyWrapper(stdin: boolean, holdFifo: string, inner: string): string {
  const hold = stdin ? '' : `exec 0<> ${q(holdFifo)}\n`;
  return `${hold}SHELL=/bin/sh exec script -qefc ${q(`exec sh ${q(inner)}`)} /dev/null\n`;
}

function ttyPrologue(ttyFile: string, size?: { height: number; width: number }): string {
  const resize = size && (size.height > 0 || size.width > 0) ? ` rows ${Math.trunc(size.height)} cols ${Math.trunc(size.width)}` : '';
  return `stty raw -echo${resize} 2>/dev/null\ntty > ${q(ttyFile)}.tmp && mv ${q(ttyFile)}.tmp ${q(ttyFile)}\n`;
}
