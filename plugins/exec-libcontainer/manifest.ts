import { join } from 'node:path';
import { definePlugin, ExtensionPoint, SkipPlugin, type ExecDriver } from '../../kernel/index.js';
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
    const defaultRuntime = runtimes[wanted] ? wanted : 'runc';
    return new LibcontainerDriver({
      stateDir: ctx.paths.state,
      spoolDir: join(ctx.paths.root, 'tasks'),
      runtimeRoot: join(ctx.paths.execRoot, 'runtime'),
      runtimes,
      defaultRuntime,
      conmonPath: conmon,
      socatPath: findBinary(ctx.config.socat ?? 'socat'),
      cgroupParent: ctx.daemon['cgroup-parent'] || undefined,
      initPath: findBinary(ctx.daemon['init-path'] || 'docker-init', ['/usr/libexec/docker']),
      log: ctx.log,
    });
  },
});
