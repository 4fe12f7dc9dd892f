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
 * exec.sh: become lxc-attach. For a TTY, lxc-attach forces ONLCR on its
 * terminal after it set the pty up (there is no hook to undo that before the
 * process runs), so a short background loop turns it off again as soon as it
 * appears; output of the first milliseconds may still have \r\r\n.
 */
export function execScript(s: ExecScript): { main: string; tty?: string } {
  const run = `exec ${s.lxcAttach.map(q).join(' ')}\n`;
  if (!s.terminal) return { main: run };
  const fix = '( i=0; while [ $i -lt 200 ]; do if stty -a 2>/dev/null | grep -q \' onlcr\'; then stty -onlcr; break; fi; i=$((i+1)); sleep 0.01; done ) &\n';
  return { main: ttyWrapper(s.stdin, s.holdFifo, `${s.ttyFile}.sh`), tty: ttyPrologue(s.ttyFile, s.consoleSize) + fix + run };
}

function ttyWrapper(stdin: boolean, holdFifo: string, inner: string): string {
  const hold = stdin ? '' : `exec 0<> ${q(holdFifo)}\n`;
  return `${hold}SHELL=/bin/sh exec script -qefc ${q(`exec sh ${q(inner)}`)} /dev/null\n`;
}

function ttyPrologue(ttyFile: string, size?: { height: number; width: number }): string {
  const resize = size && (size.height > 0 || size.width > 0) ? ` rows ${Math.trunc(size.height)} cols ${Math.trunc(size.width)}` : '';
  return `stty raw -echo${resize} 2>/dev/null\ntty > ${q(ttyFile)}.tmp && mv ${q(ttyFile)}.tmp ${q(ttyFile)}\n`;
}
