import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { NotFoundError } from '../../../kernel/index.js';
import { startApi } from '../../helpers/api-harness.js';
import { FrameDecoder, frame, MULTIPLEXED_STREAM, StdStream } from '../../../api-compat/http/stdcopy.js';

/** Sends a raw HTTP request on the API socket and collects everything until the server closes. */
function rawExchange(socketPath: string, request: string, afterHeaders?: (s: Socket) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    const chunks: Buffer[] = [];
    let sentMore = false;
    s.on('data', (c) => {
      chunks.push(c);
      if (!sentMore && Buffer.concat(chunks).includes('\r\n\r\n')) { sentMore = true; afterHeaders?.(s); }
    });
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.write(request);
  });
}

describe('hijacked streams', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async () => {
    api = await startApi();
    // A test route that echoes stdin back, framed as stdout, until stdin ends.
    api.server.hijack.add({
      method: 'POST',
      path: /^\/echo\/(?<name>[^/]+)$/,
      route: 'test.echo',
      async handle({ conn, params }) {
        if (params.name === 'missing') throw new NotFoundError('No such container: missing');
        const body = await conn.readBody();
        conn.upgrade(MULTIPLEXED_STREAM);
        conn.socket.write(frame(StdStream.Stderr, `body=${body.toString()}\n`));
        conn.socket.on('data', (d: Buffer) => conn.socket.write(frame(StdStream.Stdout, d)));
        conn.socket.on('end', () => conn.close());
      },
    });
  });
  after(async () => { await api.stop(); });

  it('answers 101 UPGRADED, reads the JSON body, then echoes raw stdin as frames after the client half-closes', async () => {
    const json = '{"Detach":false,"Tty":false}';
    const req = [
      'POST /v1.50/echo/web HTTP/1.1', 'Host: api.moby.localhost', 'Connection: Upgrade', 'Upgrade: tcp',
      'Content-Type: application/json', `Content-Length: ${json.length}`, '', json + 'early-stdin|',
    ].join('\r\n');
    const out = await rawExchange(api.socketPath, req, (s) => { s.write('late-stdin'); s.end(); });
    const text = out.toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n');
    const head = text.slice(0, headEnd);
    assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(head, /\r\nContent-Type: application\/vnd\.docker\.multiplexed-stream\r\n/);
    assert.match(head, /\r\nConnection: Upgrade\r\nUpgrade: tcp/);
    assert.match(head, /\r\nApi-Version: /);
    const frames = new FrameDecoder().push(out.subarray(headEnd + 4));
    assert.equal(frames[0]!.stream, StdStream.Stderr);
    assert.equal(frames[0]!.payload.toString(), `body=${json}\n`);
    const echoed = frames.slice(1).map((f) => f.payload.toString()).join('');
    assert.equal(echoed, 'early-stdin|late-stdin');
  });

  it('answers errors before the upgrade as ordinary JSON responses', async () => {
    const req = ['POST /v1.41/echo/missing HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: tcp', 'Content-Length: 0', '', ''].join('\r\n');
    const out = (await rawExchange(api.socketPath, req)).toString();
    assert.match(out, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(out, /\r\nContent-Type: application\/json\r\n/);
    assert.ok(out.endsWith('{"message":"No such container: missing"}\n'));
  });

  it('refuses unknown upgrade paths with 404 and bad versions with 400', async () => {
    const nf = (await rawExchange(api.socketPath, 'POST /session HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n')).toString();
    assert.match(nf, /^HTTP\/1\.1 404 /);
    assert.match(nf, /page not found/);
    const old = (await rawExchange(api.socketPath, 'POST /v1.99/echo/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')).toString();
    assert.match(old, /^HTTP\/1\.1 400 /);
    assert.match(old, /client version 1\.99 is too new/);
  });
});
