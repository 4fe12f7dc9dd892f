import { readFile } from 'node:fs/promises';

/**
 * What lxc-start's log (`-o <file> -l INFO`) says about the container's init.
 * lxc-start exits 0 whether init exited 0 or 3 (only lxc-execute passes the
 * status on, and it runs its own init as pid 1), so the status comes from
 * LXC's own record of it:
 *   NOTICE start - … Started "/bin/sh" with pid "24374"
 *   INFO   error - … Child <24374> ended on error (3)
 *   INFO   error - … Child <24374> ended on signal Killed(9)   (strsignal's text)
 * An exit 0 is not logged: a finished lxc-start without such a line means 0.
 */
export interface LxcLogFacts {
  /** Host pid of the container's init, once started. */
  initPid?: number;
  /** Exit code as dockerd reports it (128+signal for a signal), if the log has it. */
  exitCode?: number;
  /** ERROR lines, for start failures. */
  errors: string[];
}

export async function readLxcLog(path: string): Promise<LxcLogFacts> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return parseLxcLog(text);
}

export function parseLxcLog(text: string): LxcLogFacts {
  const facts: LxcLogFacts = { errors: [] };
  for (const line of text.split('\n')) {
    const started = /Started ".*" with pid "(\d+)"/.exec(line);
    if (started) facts.initPid = Number(started[1]);
    const code = /Child <(\d+)> ended on error \((\d+)\)/.exec(line);
    if (code) facts.exitCode = Number(code[2]);
    const sig = /Child <(\d+)> ended on signal .*\((\d+)\)\s*$/.exec(line);
    if (sig) facts.exitCode = 128 + Number(sig[2]);
    const err = / ERROR +\S+ - [^ ]+ - (.*)$/.exec(line);
    if (err) facts.errors.push(err[1]!);
  }
  return facts;
}
