import { spawn, type ChildProcess } from 'node:child_process';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Feeds a Node stream into a process's stdin through conmon's attach socket.
 * That socket is SOCK_SEQPACKET, which Node's `net` cannot open, so one
 * short-lived `socat` per attach session bridges it (a process per attached
 * client, not per container). The socket path is given relative to its
 * directory because exec sockets exceed the 108-byte sun_path limit. Output
 * packets socat receives are discarded: output is read from the spool, which
 * also holds what was written while nobody was attached.
 *
 * When `stdin` ends, socat half-closes the socket; conmon then closes the
 * process's stdin unless it was started with --leave-stdin-open (StdinOnce).
 */
export function bridgeStdin(socatPath: string, attachSocket: string, stdin: Readable): { child: ChildProcess; close(): void } {
  const child = spawn(socatPath, ['-b', '65536', '-t', '1', '-', `UNIX-CONNECT:${basename(attachSocket)},type=5`], {
    cwd: dirname(attachSocket),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  child.stdout!.resume(); // discard output packets (must be read, or conmon blocks writing them)
  child.stdin!.on('error', () => { /* process gone */ });
  child.on('error', () => { /* socat missing: reported by capabilities */ });
  stdin.pipe(child.stdin!);
  return {
    child,
    close: () => {
      stdin.unpipe(child.stdin!);
      child.kill('SIGTERM');
    },
  };
}
