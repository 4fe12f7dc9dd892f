import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

interface WsClient {
  status: number;
  head: string;
  /** Data frames received so far: [opcode, payload]. */
  frames: Array<[number, string]>;
  send(text: string, opcode?: number): void;
  closed: Promise<void>;
  socket: Socket;
}

/** A minimal websocket client (RFC 6455, masked frames) over the daemon's unix socket. */
function wsConnect(socketPath: string, path: string): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect(socketPath);
    let buf = Buffer.alloc(0);
    let client: WsClient | undefined;
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!client) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        const status = Number(head.split(' ')[1]);
        if (status === 101) {
          const accept = /sec-websocket-accept: (\S+)/i.exec(head)?.[1];
          assert.equal(accept, createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64'));
        }
        client = {
          status, head, frames: [], socket, closed,
          send(text, opcode = 2) {
            const payload = Buffer.from(text);
            const mask = randomBytes(4);
            const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
            socket.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
          },
        };
        resolve(client);
      }
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        if (buf.length < off + len) return;
        client.frames.push([buf[0]! & 0x0f, buf.subarray(off, off + len).toString()]);
        buf = buf.subarray(off + len);
      }
    });
  });
}

describe('attach over a websocket (GET /containers/{id}/attach/ws)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => {
    c = await startContainerDaemon();
  });
  after(async () => {
    await c?.stop();
  });

  it('stdin frames reach the process, its output comes back as binary frames, the server closes when it exits', async () => {
    assert.equal(c.d.docker(['run', '-d', '-i', '--name', 'wscat', 'bbox:1', 'sh', '-c', 'read l; echo "got $l"; echo err >&2']).status, 0);
    const ws = await wsConnect(c.d.socket, '/v1.51/containers/wscat/attach/ws?stream=1&stdin=1&stdout=1&stderr=1');
    assert.equal(ws.status, 101);
    ws.send('hello\n');
    await ws.closed;
    const data = ws.frames.filter(([op]) => op === 2).map(([, p]) => p).join('');
    assert.equal(data, 'got hello\nerr\n');
    assert.deepEqual(ws.frames.at(-1)?.[0], 8, 'a close frame last');
  });

  it('replays the log with logs=1, as text frames below API 1.28', async () => {
    assert.equal(c.d.docker(['run', '--name', 'wslog', 'bbox:1', 'echo', 'from the log']).status, 0);
    const ws = await wsConnect(c.d.socket, '/v1.27/containers/wslog/attach/ws?logs=1&stream=0');
    assert.equal(ws.status, 101);
    await ws.closed;
    assert.deepEqual(ws.frames.filter(([op]) => op !== 8), [[1, 'from the log\n']]);
  });

  it('answers an unknown container with a plain 404 before any handshake', async () => {
    const ws = await wsConnect(c.d.socket, '/v1.51/containers/nope/attach/ws?stream=1');
    assert.equal(ws.status, 404);
    assert.match(ws.head, /HTTP\/1\.1 404/);
  });
});
