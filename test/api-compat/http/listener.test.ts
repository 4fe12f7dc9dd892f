import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { silentLogger } from '../../../kernel/index.js';
import { ApiListener } from '../../../api-compat/http/listener.js';
import { tempDir } from '../../helpers/kernel-fixtures.js';

function get(opts: { socketPath?: string; port?: number; host?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ ...opts, path: '/x' }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b)); });
    req.on('error', reject);
    req.end();
  });
}

describe('ApiListener', () => {
  it('listens on every -H address, unix socket mode 0660, and removes the socket on close', async () => {
    const dir = await tempDir();
    const sock = join(dir.path, 'sub', 'api.sock');
    const l = new ApiListener(silentLogger);
    l.setHandlers((_req, res) => res.end('hello'), (_r, s) => s.destroy());
    await l.listen([`unix://${sock}`, 'tcp://127.0.0.1:0']);
    const [unixAddr, tcpAddr] = l.addresses();
    assert.equal(unixAddr, `unix://${sock}`);
    assert.match(tcpAddr!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await stat(sock)).mode & 0o777, 0o660);
    assert.equal(await get({ socketPath: sock }), 'hello');
    assert.equal(await get({ host: '127.0.0.1', port: Number(tcpAddr!.split(':').pop()) }), 'hello');
    await l.close();
    await assert.rejects(stat(sock), /ENOENT/);
    await dir.cleanup();
  });

  it('replaces a stale socket but refuses to clobber a regular file', async () => {
    const dir = await tempDir();
    const sock = join(dir.path, 'api.sock');
    const first = new ApiListener(silentLogger);
    await first.listen([`unix://${sock}`]);
    // simulate a crash: the socket file stays, nobody listens
    (first as unknown as { servers: Array<{ server: import('node:http').Server }> }).servers[0]!.server.close();
    const second = new ApiListener(silentLogger);
    second.setHandlers((_req, res) => res.end('second'), (_r, s) => s.destroy());
    await second.listen([`unix://${sock}`]);
    assert.equal(await get({ socketPath: sock }), 'second');
    await second.close();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(sock, 'not a socket');
    await assert.rejects(new ApiListener(silentLogger).listen([`unix://${sock}`]), /exists and is not a socket/);
    await dir.cleanup();
  });

  it('holds requests that arrive before release() and serves them after it', async () => {
    const dir = await tempDir();
    const sock = join(dir.path, 'api.sock');
    const l = new ApiListener(silentLogger);
    l.setHandlers((_req, res) => res.end('served'), (_r, s) => s.destroy());
    l.hold();
    await l.listen([`unix://${sock}`]);
    let answer: string | undefined;
    const pending = get({ socketPath: sock }).then((b) => (answer = b));
    // Ample time for the request to reach the server: it must still be waiting.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answer, undefined);
    l.release();
    assert.equal(await pending, 'served');
    assert.equal(await get({ socketPath: sock }), 'served');
    await l.close();
    await dir.cleanup();
  });

  it('drops held requests when closed before release(), and removes the socket', async () => {
    const dir = await tempDir();
    const sock = join(dir.path, 'api.sock');
    const l = new ApiListener(silentLogger);
    let served = 0;
    l.setHandlers((_req, res) => { served++; res.end('served'); }, (_r, s) => s.destroy());
    l.hold();
    await l.listen([`unix://${sock}`]);
    const outcome = get({ socketPath: sock }).then((b) => `answered ${b}`, (err: Error) => err.message);
    await new Promise((r) => setTimeout(r, 200));
    await l.close();
    assert.match(await outcome, /socket hang up|ECONNRESET/);
    assert.equal(served, 0);
    await assert.rejects(stat(sock), /ENOENT/);
    await dir.cleanup();
  });
});
