import { Writable, type Duplex } from 'node:stream';
import type { AttachStreams } from '../../kernel/index.js';
import { frame, frameHeader, StdStream } from './stdcopy.js';

/** From this payload size on, a frame's header and payload are written side by side instead of joined. */
const BIG_FRAME = 16 * 1024;

/**
 * The client's side of an attach or exec as streams for the container
 * service: output is written raw for a TTY and as stdcopy frames otherwise
 * (the framing depends on TTY only, pitfall 3); stdin is the raw bytes the
 * client sends on the hijacked socket. Writes to a client that went away are
 * dropped, so a container's output never stalls on a dead connection.
 * `signal` aborts when the connection closes.
 */
export function socketStreams(socket: Duplex, tty: boolean, opts: { stdin: boolean }): AttachStreams {
  const abort = new AbortController();
  const gone = () => abort.abort();
  socket.once('close', gone);
  socket.once('error', gone);
  return {
    stdin: opts.stdin ? socket : undefined,
    stdout: outputWriter(socket, tty ? undefined : StdStream.Stdout),
    stderr: tty ? undefined : outputWriter(socket, StdStream.Stderr),
    signal: abort.signal,
  };
}

/** A Writable onto `out`: framed for `stream`, raw without one; ending it leaves `out` open. */
export function outputWriter(out: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean; cork?(): void; uncork?(): void }, stream: StdStream | undefined): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk.length === 0 || out.destroyed || out.writableEnded) return cb();
      let ok: boolean;
      if (stream === undefined) ok = out.write(chunk);
      else if (chunk.length < BIG_FRAME || typeof out.cork !== 'function') ok = out.write(frame(stream, chunk));
      else {
        // A big payload (a read of a chatty container's output) is not copied behind its header:
        // both go out in one writev.
        out.cork!();
        out.write(frameHeader(stream, chunk.length));
        ok = out.write(chunk);
        out.uncork!();
      }
      if (ok) return cb();
      const done = () => {
        out.removeListener('drain', done);
        out.removeListener('close', done);
        cb();
      };
      out.once('drain', done);
      out.once('close', done);
    },
  });
}
