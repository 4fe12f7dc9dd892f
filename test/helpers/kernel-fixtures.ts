import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_DEFAULTS, definePlugin, silentLogger, type DaemonConfig, type ExtensionPointId, type PluginManifest } from '../../kernel/index.js';

/** A complete DaemonConfig for tests, rooted in a temp directory. */
export function testConfig(root: string, extra: Partial<DaemonConfig> = {}): DaemonConfig {
  return {
    hosts: [`unix://${join(root, 'berth.sock')}`],
    'data-root': join(root, 'data'),
    'exec-root': join(root, 'exec'),
    pidfile: join(root, 'berthd.pid'),
    debug: false,
    'log-level': 'info',
    labels: [],
    experimental: false,
    'storage-opts': [],
    runtimes: {},
    'live-restore': false,
    'registry-mirrors': [],
    'insecure-registries': [],
    berth: {},
    // No host networking (bridge, iptables chains, ip_forward) in kernel-level tests: they run side by side.
    bridge: 'none',
    iptables: false,
    'ip-forward': false,
    ...extra,
  };
}

export async function tempDir(prefix = 'berth-test-'): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** A recording plugin: its hooks append "<id>:<hook>" to `trace`. */
export function tracePlugin(
  trace: string[],
  id: string,
  point: ExtensionPointId,
  opts: Partial<PluginManifest<unknown>> & { fail?: 'activate' | 'start' | 'skip' } = {},
): PluginManifest<unknown> {
  return definePlugin<unknown>({
    id,
    point,
    name: opts.name ?? id,
    swap: opts.swap ?? 'live',
    requires: opts.requires,
    priority: opts.priority,
    daemonKeys: opts.daemonKeys,
    defaults: opts.defaults,
    async activate(ctx) {
      trace.push(`${id}:activate`);
      if (opts.fail === 'activate') throw new Error(`${id} broke`);
      if (opts.fail === 'skip') {
        const { SkipPlugin } = await import('../../kernel/index.js');
        throw new SkipPlugin(`${id} unsupported here`);
      }
      return {
        config: ctx.config,
        start() { trace.push(`${id}:start`); if (opts.fail === 'start') throw new Error(`${id} start broke`); },
        stop() { trace.push(`${id}:stop`); },
        dispose() { trace.push(`${id}:dispose`); },
      };
    },
  });
}

export { BERTH_DEFAULTS, silentLogger };
