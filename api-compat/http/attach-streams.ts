import { Writable, type Duplex } from 'node:stream';
import type { AttachStreams } from '../../kernel/index.js';
import { frame, StdStream } from './stdcopy.js';

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
export function outputWriter(out: NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean }, stream: StdStream | undefined): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk.length === 0 || out.destroyed || out.writableEnded) return cb();
      const data = stream === undefined ? chunk : frame(stream, chunk);
      if (out.write(data)) return cb();
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
