import { definePlugin, ExtensionPoint, type ApiServer } from '../kernel/index.js';
import { EngineApiServer } from './api-server.js';
import { hijackModules, routeModules } from './routes/index.js';

/**
 * The Docker Engine HTTP API as a plugin. Listening addresses (`hosts`) need
 * a restart, as in dockerd; routes read the live configuration.
 */
export default definePlugin<ApiServer>({
  id: 'api-server',
  point: ExtensionPoint.ApiServer,
  name: 'engine-api',
  requires: [ExtensionPoint.HostInfo, ExtensionPoint.EventLog],
  daemonKeys: ['hosts', 'group'],
  swap: 'restart-only',
  activate: async (ctx) => {
    const server = new EngineApiServer({ host: ctx.host, events: ctx.events, log: ctx.log, routes: routeModules, hijackModules });
    await server.bind(); // listens now, answers from start(): see EngineApiServer.bind
    return server;
  },
});
