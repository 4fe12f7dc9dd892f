import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Kernel, silentLogger } from '../../kernel/index.js';
import { builtins } from '../../cmd/berthd/builtins.js';
import { tempDir, testConfig } from '../helpers/kernel-fixtures.js';

function ping(socketPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('API socket bound while plugins activate', () => {
  it('listens once the plugins are activated, but answers /_ping only after every plugin has started', async () => {
    const dir = await tempDir('berth-bind-');
    const config = testConfig(dir.path);
    const socketPath = config.hosts[0]!.slice('unix://'.length);
    const kernel = new Kernel(builtins, silentLogger);
    kernel.plugins.identity = { id: 'TEST:ENGINE:ID', name: 'testhost' };
    try {
      await kernel.plugins.boot(config);
      let answered: { status: number; body: string } | undefined;
      const first = ping(socketPath).then((r) => (answered = r)); // connects: the socket is bound
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answered, undefined, 'a request was answered before the plugins started');
      await kernel.plugins.start();
      assert.deepEqual(await first, { status: 200, body: 'OK' });
      assert.deepEqual(await ping(socketPath), { status: 200, body: 'OK' });
    } finally {
      await kernel.shutdown();
      await dir.cleanup();
    }
  });
});
