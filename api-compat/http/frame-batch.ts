import { LOG_LINE_PARTIAL, type LogLineBatch } from '../../kernel/index.js';
import { StdStream } from './stdcopy.js';

/**
 * Many small payloads (log lines) encoded into one buffer as they will be
 * sent: with a TTY the bytes as they are, without one a stdcopy frame each
 * (the same bytes `frame()` gives). `docker logs` of a big log is hundreds of
 * thousands of lines; building a prefix, a line and a frame buffer for each
 * and concatenating them again was most of the route's CPU. Here every line
 * is copied once, into a buffer that grows by doubling and is handed out
 * whole by `take`.
 */
export class FrameBatch {
  private buf: Buffer;
  private used = 0;

  constructor(private readonly tty: boolean, initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Bytes waiting to be taken. */
  get size(): number {
    return this.used;
  }

  /** Appends `prefix` (UTF-8 text), `line`, and a newline when `newline`, as one payload. */
  add(stream: StdStream, prefix: string, line: Buffer, newline: boolean): void {
    this.addRange(stream, prefix, line, 0, line.length, newline);
  }

  /** The same for the line `data[start, end)` (a line of a LogLineBatch: no view made of it). */
  addRange(stream: StdStream, prefix: string, data: Buffer, start: number, end: number, newline: boolean): void {
    const prefixBytes = prefix.length ? Buffer.byteLength(prefix) : 0;
    const payload = prefixBytes + end - start + (newline ? 1 : 0);
    this.reserve(payload + 8);
    let o = this.used;
    if (!this.tty) {
      // stdcopy header: stream byte, three zero bytes, big-endian uint32 length.
      this.buf[o] = stream;
      this.buf[o + 1] = 0;
      this.buf[o + 2] = 0;
      this.buf[o + 3] = 0;
      this.buf.writeUInt32BE(payload, o + 4);
      o += 8;
    }
    if (prefixBytes) o += this.buf.write(prefix, o, 'utf8');
    o += data.copy(this.buf, o, start, end);
    if (newline) this.buf[o++] = 0x0a;
    this.used = o;
  }

  /** Whether `addFramed` takes this batch: lines a reader framed already (LogLineBatch.framed), without a TTY. */
  takesFramed(b: LogLineBatch): boolean {
    return !this.tty && b.framed === true && b.count > 0;
  }

  /** A framed batch's lines: one copy of the run, no work per line. */
  addFramed(b: LogLineBatch): void {
    const last = b.count - 1;
    const from = b.start[0]! - 8;
    const to = b.end[last]! + ((b.flags[last]! & LOG_LINE_PARTIAL) === 0 ? 1 : 0);
    this.reserve(to - from);
    this.used += b.data.copy(this.buf, this.used, from, to);
  }

  /** The encoded bytes so far, for the caller to keep; the batch starts over empty. */
  take(): Buffer {
    let out: Buffer;
    if (this.used < 16 * 1024) {
      // A small flush (a follow, a short log): copy it out and keep the buffer.
      out = Buffer.allocUnsafe(this.used);
      this.buf.copy(out, 0, 0, this.used);
    } else {
      // A big one is handed over as it is (no copy); the next lines go to a new buffer.
      out = this.buf.subarray(0, this.used);
      this.buf = Buffer.allocUnsafe(this.buf.length);
    }
    this.used = 0;
    return out;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + n));
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
}
