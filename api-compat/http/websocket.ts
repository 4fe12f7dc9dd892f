import { createHash } from 'node:crypto';
import { PassThrough, Writable, type Duplex } from 'node:stream';

/**
 * The smallest RFC 6455 server side `GET /containers/{id}/attach/ws` needs
 * (what golang.org/x/net/websocket gives dockerd): the handshake answer, a
 * frame decoder whose data frames (text, binary, continuation) become one
 * byte stream — stdin — and an encoder that sends each output chunk as one
 * unmasked frame. Pings are answered, a close frame is echoed and ends stdin.
 */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const enum Opcode { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 }

/** The handshake problem dockerd's websocket server would answer 400 for, or null when the request is a valid upgrade. */
export function handshakeProblem(headers: Record<string, string | string[] | undefined>, method: string | undefined): string | null {
  if (method !== 'GET') return 'bad method';
  if (!/websocket/i.test(String(headers.upgrade ?? ''))) return 'missing or bad upgrade';
  if (!/upgrade/i.test(String(headers.connection ?? ''))) return 'missing or bad connection';
  if (!headers['sec-websocket-key']) return 'missing sec-websocket-key';
  if (String(headers['sec-websocket-version'] ?? '') !== '13') return 'missing or bad WebSocket Version';
  return null;
}

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** One server frame (never masked). */
export function encodeFrame(opcode: Opcode, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) { head[1] = 126; head.writeUInt16BE(len, 2); }
  else { head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2); }
  return Buffer.concat([head, payload]);
}

/**
 * Reads client frames from `socket`: data goes to the returned stdin stream,
 * pings get pongs, a close frame is answered and ends stdin. A protocol
 * error (unmasked client frame, oversized control frame) closes with 1002.
 */
export function decodeFrames(socket: Duplex): PassThrough {
  const stdin = new PassThrough();
  let buf: Buffer = Buffer.alloc(0);
  let closed = false;
  const close = (code: number) => {
    if (closed) return;
    closed = true;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    if (socket.writable) socket.write(encodeFrame(Opcode.Close, body));
    stdin.end();
  };
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (!closed && buf.length >= 2) {
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (!masked || (opcode >= 8 && len > 125)) return close(1002);
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      buf = buf.subarray(off + 4 + len);
      if (opcode === Opcode.Close) return close(1000);
      if (opcode === Opcode.Ping) socket.write(encodeFrame(Opcode.Pong, payload));
      else if (opcode <= Opcode.Binary && payload.length > 0) stdin.write(payload);
    }
  });
  socket.on('end', () => { closed = true; stdin.end(); });
  socket.on('close', () => { closed = true; stdin.end(); });
  return stdin;
}

/** A Writable whose every chunk leaves as one frame of `opcode`; writes to a gone client are dropped. */
export function frameWriter(socket: Duplex, opcode: Opcode.Text | Opcode.Binary): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk.length === 0 || socket.destroyed || !socket.writable) return cb();
      if (socket.write(encodeFrame(opcode, chunk))) return cb();
      const done = () => { socket.off('drain', done); socket.off('close', done); cb(); };
      socket.once('drain', done);
      socket.once('close', done);
    },
  });
}
