import { join } from 'node:path';
import { definePlugin, ExtensionPoint, InvalidParameterError, SkipPlugin, type ExecDriver, type PluginContext } from '../../kernel/index.js';
import { findBinary } from './find-binary.js';
import { LibcontainerDriver, type RuntimeSpec } from './libcontainer-driver.js';

export interface LibcontainerConfig {
  /** conmon binary; found on PATH or in /usr/libexec/podman when unset. */
  conmon?: string;
  /** socat binary, the bridge to conmon's stdin socket; stdin is unavailable without it. */
  socat?: string;
}

/**
 * Serves the `runc` runtime and every daemon.json `runtimes` entry with a
 * `path` (crun, …); `default-runtime` picks the default. Skips, with the
 * reason, when runc or conmon is missing. Swap policy `drain`: a reload of
 * `runtimes` gives new containers the new set while running tasks keep the
 * runtime recorded in their bundle. Runtimes given only as a containerd shim
 * (`runtimeType`) cannot be driven without containerd and are left out.
 */
export default definePlugin<ExecDriver, LibcontainerConfig>({
  id: 'exec-libcontainer',
  point: ExtensionPoint.ExecDriver,
  name: 'runc',
  description: 'OCI runtimes (runc, crun, …) under conmon',
  swap: 'drain',
  drainTimeoutMs: Infinity, // a swapped-out instance serves its running containers until they end
  daemonKeys: ['runtimes', 'default-runtime', 'cgroup-parent', 'init-path'],
  defaults: () => ({}),
  activate(ctx) {
    const runc = findBinary('runc');
    if (!runc) throw new SkipPlugin('runc binary not found in PATH');
    const conmon = findBinary(ctx.config.conmon ?? 'conmon', ['/usr/libexec/podman', '/usr/libexec/crio']);
    if (!conmon) throw new SkipPlugin('conmon (the per-container monitor) not found: install the conmon package');
    const runtimes: Record<string, RuntimeSpec> = { runc: { path: runc } };
    for (const [name, rt] of Object.entries(ctx.daemon.runtimes ?? {})) {
      if (!rt.path) {
        ctx.log.warn('runtime skipped: only runtimes with a path can be driven without containerd', { runtime: name });
        continue;
      }
      const path = findBinary(rt.path);
      if (!path) {
        ctx.log.warn('runtime skipped: binary not found', { runtime: name, path: rt.path });
        continue;
      }
      runtimes[name] = { path, args: rt.runtimeArgs ?? [] };
    }
    const wanted = ctx.daemon['default-runtime'] || 'runc';
    if (!runtimes[wanted]) assertServedElsewhere(ctx, wanted);
    const defaultRuntime = runtimes[wanted] ? wanted : 'runc';
    return new LibcontainerDriver({
      stateDir: ctx.paths.state,
      spoolDir: join(ctx.paths.root, 'tasks'),
      runtimeRoot: join(ctx.paths.execRoot, 'runtime'),
      runtimes,
      defaultRuntime,
      conmonPath: conmon,
      socatPath: findBinary(ctx.config.socat ?? 'socat'),
      mkfifoPath: findBinary('mkfifo'),
      cgroupParent: ctx.daemon['cgroup-parent'] || undefined,
      initPath: findBinary(ctx.daemon['init-path'] || 'docker-init', ['/usr/libexec/docker']),
      log: ctx.log,
    });
  },
});

/**
 * On a reload (this plugin already active), a `default-runtime` that no
 * active exec driver serves — a runtime whose binary is missing, `lxc` when
 * exec-lxc was skipped — fails the reload, so the old configuration keeps
 * serving and the log says why (issue 7's "failed swap"). At boot the other
 * drivers may not be activated yet; containers then get the runtime error.
 */
function assertServedElsewhere(ctx: PluginContext<LibcontainerConfig>, runtime: string): void {
  const statuses = ctx.host.statuses();
  if (!statuses.some((s) => s.id === ctx.id && s.state === 'active')) return;
  for (const [name, driver] of ctx.host.all<ExecDriver>(ExtensionPoint.ExecDriver)) {
    if (name !== ctx.name && driver.runtimes().some((r) => r.name === runtime)) return;
  }
  const plugin = statuses.find((s) => s.point === ExtensionPoint.ExecDriver && s.name === runtime);
  const why = plugin ? `exec driver ${plugin.name} (plugin ${plugin.id}) is ${plugin.state}${plugin.reason ? `: ${plugin.reason}` : ''}` : 'no exec driver serves it';
  throw new InvalidParameterError(`default runtime ${runtime} cannot be used: ${why}`);
}
