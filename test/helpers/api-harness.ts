import request from 'supertest';
import { ExtensionPoint, Kernel, silentLogger, type DaemonConfig } from '../../kernel/index.js';
import type { EngineApiServer } from '../../api-compat/api-server.js';
import { builtins } from '../../cmd/berthd/builtins.js';
import { tempDir, testConfig } from './kernel-fixtures.js';

/**
 * Boots a kernel with berthd's built-in plugins on a temp data-root and unix
 * socket, and hands out supertest agents for its API.
 */
export async function startApi(extra: Partial<DaemonConfig> = {}) {
  const dir = await tempDir('berth-api-');
  const config = testConfig(dir.path, extra);
  const kernel = new Kernel(builtins, silentLogger);
  kernel.plugins.identity = { id: 'TEST:ENGINE:ID', name: 'testhost' };
  await kernel.start(config);
  const server = kernel.plugins.current<EngineApiServer>(ExtensionPoint.ApiServer);
  return {
    kernel,
    server,
    config,
    socketPath: config.hosts[0]!.slice('unix://'.length),
    http: () => request(server.callback()),
    async stop() {
      await kernel.shutdown();
      await dir.cleanup();
    },
  };
}
