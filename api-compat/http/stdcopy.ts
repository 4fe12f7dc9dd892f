/**
 * Docker's stdcopy framing for non-TTY attach, exec and logs output
 * (api/pkg/stdcopy): an 8-byte header — stream byte, three zero bytes,
 * big-endian uint32 length — then the payload. TTY output is never framed.
 */
export const enum StdStream {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /** In-band error text after the stream started. */
  SystemErr = 3,
}

/** A frame's 8-byte header alone, for a payload of `length` bytes written after it. */
export function frameHeader(stream: StdStream, length: number): Buffer {
  const header = Buffer.allocUnsafe(8);
  header[0] = stream;
  header[1] = 0;
  header[2] = 0;
  header[3] = 0;
  header.writeUInt32BE(length, 4);
  return header;
}

export function frame(stream: StdStream, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Splits a framed byte stream back into frames; keeps a partial frame for the next push. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ stream: StdStream; payload: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Array<{ stream: StdStream; payload: Buffer }> = [];
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      out.push({ stream: this.pending[0] as StdStream, payload: this.pending.subarray(8, 8 + len) });
      this.pending = this.pending.subarray(8 + len);
    }
    return out;
  }
}

export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
export const RAW_STREAM = 'application/vnd.docker.raw-stream';
