import { join } from 'node:path';
import { definePlugin, ExtensionPoint, SkipPlugin, type ExecDriver } from '../../kernel/index.js';
import { findBinary } from '../exec-libcontainer/find-binary.js';
import { LxcDriver } from './lxc-driver.js';
import type { LxcTools } from './lxc-files.js';
import { installShim } from './shim-script.js';

export interface LxcPluginConfig {
  /** conmon binary; found on PATH or in /usr/libexec/podman when unset. */
  conmon?: string;
  /** socat binary, the bridge to conmon's stdin socket; stdin is unavailable without it. */
  socat?: string;
}

/** LXC tools the driver runs, and the helpers its scripts need. */
const TOOLS: Required<Record<keyof LxcTools, string>> = {
  start: 'lxc-start', attach: 'lxc-attach', info: 'lxc-info', stop: 'lxc-stop',
  freeze: 'lxc-freeze', unfreeze: 'lxc-unfreeze', cgroup: 'lxc-cgroup', wait: 'lxc-wait',
};
const HELPERS = ['script', 'stty', 'nsenter', 'ip', 'mkfifo', 'perl'];

/**
 * Serves the runtime `lxc` (`docker run --runtime lxc`, `"default-runtime":
 * "lxc"`). Skips, with the reason, when LXC's tools (Debian package `lxc`),
 * conmon or the helpers its scripts use are missing. Swap policy `drain`:
 * nothing of daemon.json changes it, and running tasks keep their instance.
 */
export default definePlugin<ExecDriver, LxcPluginConfig>({
  id: 'exec-lxc',
  point: ExtensionPoint.ExecDriver,
  name: 'lxc',
  description: 'LXC (lxc-start, lxc-attach) under conmon',
  swap: 'drain',
  drainTimeoutMs: Infinity, // a swapped-out instance serves its running containers until they end
  daemonKeys: ['cgroup-parent', 'init-path'],
  defaults: () => ({}),
  async activate(ctx) {
    const tools = {} as LxcTools;
    for (const [key, name] of Object.entries(TOOLS) as Array<[keyof LxcTools, string]>) {
      const path = findBinary(name);
      if (!path) throw new SkipPlugin(`${name} not found in PATH: install the lxc package`);
      tools[key] = path;
    }
    for (const h of HELPERS) if (!findBinary(h)) throw new SkipPlugin(`${h} not found in PATH (needed by the LXC launch scripts)`);
    const conmon = findBinary(ctx.config.conmon ?? 'conmon', ['/usr/libexec/podman', '/usr/libexec/crio']);
    if (!conmon) throw new SkipPlugin('conmon (the per-container monitor) not found: install the conmon package');
    const shimPath = await installShim(ctx.paths.state);
    return new LxcDriver({
      stateDir: ctx.paths.state,
      spoolDir: join(ctx.paths.root, 'tasks'),
      shimPath,
      conmonPath: conmon,
      socatPath: findBinary(ctx.config.socat ?? 'socat'),
      tools,
      cgroupParent: ctx.daemon['cgroup-parent'] || undefined,
      initPath: findBinary(ctx.daemon['init-path'] || 'docker-init', ['/usr/libexec/docker']),
      log: ctx.log,
    });
  },
});
