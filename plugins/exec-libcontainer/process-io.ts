import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ConflictError, type ConsoleSize, type TaskIO } from '../../kernel/index.js';
import { OutputFollower } from './output-follower.js';
import { bridgeStdin } from './stdin-bridge.js';

/** Where one process's IO lives: its spool, conmon's attach socket and ctl FIFO. */
export interface ProcessEndpoints {
  spool: string;
  attachSocket: string;
  ctl: string;
  terminal: boolean;
  /** Whether conmon holds a stdin pipe for the process. */
  stdin: boolean;
  socatPath?: string;
}

/** A set of streams connected to a process; `exited` flushes output and ends the streams. */
export interface IoConnection {
  exited(): void;
  detach(): void;
}

/** Connects streams: output from the spool at `io.from`, stdin through the attach socket. */
export async function connectIo(ep: ProcessEndpoints, io: TaskIO, defaultFrom: 'start' | 'end'): Promise<IoConnection> {
  const from = io.from ?? defaultFrom;
  const offset = typeof from === 'number' ? from : from === 'start' ? 0 : await stat(ep.spool).then((s) => s.size, () => 0);
  const follower = io.stdout || io.stderr ? new OutputFollower(ep.spool, offset, { stdout: io.stdout, stderr: io.stderr, terminal: ep.terminal }) : undefined;
  let bridge: ReturnType<typeof bridgeStdin> | undefined;
  if (io.stdin) {
    if (!ep.stdin) throw new ConflictError('the process was started without stdin');
    if (!ep.socatPath) throw new ConflictError('stdin needs socat, which is not installed');
    bridge = bridgeStdin(ep.socatPath, ep.attachSocket, io.stdin);
  }
  return {
    exited: () => {
      follower?.finish();
      bridge?.close();
    },
    detach: () => {
      follower?.stop();
      bridge?.close();
    },
  };
}

/** Resizes the pty through conmon's control FIFO ("1 <height> <width>"). */
export async function resizeTerminal(ep: ProcessEndpoints, size: ConsoleSize): Promise<void> {
  if (!ep.terminal) throw new ConflictError('the process has no terminal');
  // Non-blocking: with conmon gone there is no reader and open fails (ENXIO) instead of hanging.
  // One message per write: conmon parses each read as one line.
  const fh = await open(ep.ctl, constants.O_WRONLY | constants.O_NONBLOCK).catch((err: Error) => {
    throw new ConflictError(`the process is not running: ${err.message}`);
  });
  try {
    await fh.write(`1 ${Math.max(0, Math.trunc(size.height))} ${Math.max(0, Math.trunc(size.width))}\n`);
  } finally {
    await fh.close();
  }
}
