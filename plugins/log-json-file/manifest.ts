import { definePlugin, ExtensionPoint, type LogDriver } from '../../kernel/index.js';
import { JsonFileDriver } from './json-file-driver.js';

/**
 * The json-file log driver. daemon.json `log-driver` and `log-opts` are
 * dockerd's restart-only keys; open container logs belong to the instance
 * that opened them, so a swap drains rather than cutting them off.
 */
export default definePlugin<LogDriver>({
  id: 'log-json-file',
  point: ExtensionPoint.LogDriver,
  name: 'json-file',
  description: "dockerd's default log driver: JSON lines per container, rotated by max-size/max-file",
  swap: 'drain',
  daemonKeys: ['log-driver', 'log-opts'],
  activate: (ctx) => new JsonFileDriver(ctx.daemon['log-driver'] ?? 'json-file', ctx.daemon['log-opts'] ?? {}, ctx.log),
});
