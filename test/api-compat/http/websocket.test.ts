import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { acceptKey, decodeFrames, encodeFrame, frameWriter, handshakeProblem, Opcode } from '../../../api-compat/http/websocket.js';

/** A masked client frame, as RFC 6455 requires clients to send. */
function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([head, mask, masked]);
}

describe('websocket framing for attach/ws', () => {
  it('computes the RFC 6455 accept key (the RFC\'s own example)', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('refuses requests that are not a version 13 upgrade', () => {
    const ok = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'x', 'sec-websocket-version': '13' };
    assert.equal(handshakeProblem(ok, 'GET'), null);
    assert.match(handshakeProblem({ ...ok, 'sec-websocket-version': '8' }, 'GET')!, /Version/);
    assert.match(handshakeProblem({ ...ok, 'sec-websocket-key': undefined }, 'GET')!, /key/);
    assert.match(handshakeProblem(ok, 'POST')!, /method/);
  });

  it('encodes short, 16-bit and 64-bit lengths unmasked', () => {
    assert.deepEqual([...encodeFrame(Opcode.Binary, Buffer.from('hi'))], [0x82, 2, 104, 105]);
    const mid = encodeFrame(Opcode.Text, Buffer.alloc(300));
    assert.deepEqual([mid[0], mid[1], mid.readUInt16BE(2)], [0x81, 126, 300]);
    const big = encodeFrame(Opcode.Binary, Buffer.alloc(70000));
    assert.deepEqual([big[1], Number(big.readBigUInt64BE(2))], [127, 70000]);
  });

  it('decodes split and fragmented client frames into one stdin stream, answers pings, echoes close', async () => {
    const socket = new PassThrough();
    const sent: Buffer[] = [];
    socket.write = ((b: Buffer) => { sent.push(b); return true; }) as typeof socket.write;
    const stdin = decodeFrames(socket);
    let got = '';
    stdin.on('data', (b: Buffer) => { got += b; });
    const ended = new Promise((r) => stdin.on('end', r));
    const data = Buffer.concat([clientFrame(Opcode.Text, Buffer.from('hel'), false), clientFrame(Opcode.Continuation, Buffer.from('lo\n')), clientFrame(Opcode.Ping, Buffer.from('p')), clientFrame(Opcode.Binary, Buffer.alloc(200, 97))]);
    socket.emit('data', data.subarray(0, 5));
    socket.emit('data', data.subarray(5));
    socket.emit('data', clientFrame(Opcode.Close, Buffer.from([3, 232])));
    await ended;
    assert.equal(got, 'hello\n' + 'a'.repeat(200));
    assert.deepEqual([...sent[0]!], [0x8a, 1, 112], 'a pong with the ping payload');
    assert.deepEqual([...sent[1]!], [0x88, 2, 3, 232], 'close 1000 echoed');
  });

  it('closes with 1002 on an unmasked client frame', async () => {
    const socket = new PassThrough();
    const sent: Buffer[] = [];
    socket.write = ((b: Buffer) => { sent.push(b); return true; }) as typeof socket.write;
    const stdin = decodeFrames(socket);
    stdin.resume();
    const ended = new Promise((r) => stdin.on('end', r));
    socket.emit('data', Buffer.from([0x82, 1, 65]));
    await ended;
    assert.deepEqual([...sent[0]!], [0x88, 2, 3, 234]);
  });

  it('writes every output chunk as one frame', async () => {
    const socket = new PassThrough();
    const w = frameWriter(socket, Opcode.Binary);
    await new Promise<void>((r) => w.write(Buffer.from('out'), () => r()));
    assert.deepEqual([...socket.read() as Buffer], [0x82, 3, 111, 117, 116]);
  });
});
