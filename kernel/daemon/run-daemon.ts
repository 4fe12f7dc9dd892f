import { mkdir } from 'node:fs/promises';
import { loadDaemonConfig, reloadDaemonConfig } from '../config/index.js';
import type { DaemonConfig } from '../config/daemon-config.js';
import { errorMessage } from '../errors.js';
import { loadIdentity } from '../identity.js';
import { Kernel } from '../kernel.js';
import { TextLogger, type LogLevel } from '../log.js';
import type { AnyManifest } from '../plugin/manifest.js';
import { msSinceStart } from '../plugin/timing.js';
import { createPidFile, removePidFile } from './pidfile.js';
import { reloadEvent } from './reload-event.js';

export interface RunOptions {
  manifests: readonly AnyManifest[];
  configFile: string;
  /** True when --config-file was given: then a missing file is an error. */
  explicitConfigFile: boolean;
  /** daemon.json keys set by flags. */
  flags: Record<string, unknown>;
}

export interface RunningDaemon {
  kernel: Kernel;
  config(): DaemonConfig;
  reload(): Promise<void>;
  shutdown(reason?: string): Promise<void>;
}

/**
 * Runs the daemon process: load and validate the configuration, take the PID
 * file, boot the kernel with the built-in plugins, and handle signals —
 * SIGHUP reloads daemon.json transactionally, SIGTERM/SIGINT shut down
 * (a second one forces the exit).
 */
export async function runDaemon(opts: RunOptions): Promise<RunningDaemon> {
  // Milliseconds since process start at each step, logged at debug level: where a cold start goes.
  const phases: Record<string, number> = { bundle: since() };
  let config = await loadDaemonConfig({ file: opts.configFile, explicit: opts.explicitConfigFile, flags: opts.flags });
  const logState = { level: effectiveLevel(config), format: (config['log-format'] === 'json' ? 'json' : 'text') as 'text' | 'json' };
  const log = new TextLogger(logState);

  await mkdir(config['data-root'], { recursive: true, mode: 0o711 });
  await mkdir(config['exec-root'], { recursive: true, mode: 0o700 });
  await createPidFile(config.pidfile);

  phases.config = since();
  const kernel = new Kernel(opts.manifests, log);
  // The engine ID is read by requests and events only, never while plugins
  // activate: on a new data root its atomic write (two fsyncs) overlaps the
  // activation instead of delaying it.
  const identity = loadIdentity(config['data-root']);
  identity.catch(() => {}); // awaited below; a boot failure must not leave it unhandled
  try {
    await kernel.plugins.boot(config);
    phases.activated = since();
    kernel.plugins.identity = await identity;
    phases.identity = since();
    await kernel.plugins.start();
    phases.started = since();
  } catch (err) {
    await kernel.shutdown('startup failed').catch(() => {});
    await removePidFile(config.pidfile);
    throw err;
  }
  for (const s of kernel.plugins.statuses()) {
    log.debug('plugin', { id: s.id, state: s.state, ...(s.reason ? { reason: s.reason } : {}), ms: s.timings.activate, ...(s.timings.start !== undefined ? { start_ms: s.timings.start } : {}) });
  }
  // CPU time next to wall time: on a loaded machine the wall figures mostly measure the neighbours.
  const cpu = process.cpuUsage();
  log.debug('startup phases (ms since process start)', { ...phases, cpu_user: Math.round(cpu.user / 1000), cpu_sys: Math.round(cpu.system / 1000) });
  // Milliseconds since the process started: the cold-start figure bench/ measures from outside.
  log.info('Daemon has completed initialization', { pid: process.pid, startup_ms: Math.round(msSinceStart()) });

  let reloading: Promise<void> = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      try {
        const next = await reloadDaemonConfig(config, opts.configFile, opts.flags, { explicit: opts.explicitConfigFile });
        for (const key of next.ignored) log.warn('configuration change needs a restart to take effect', { key });
        const notes = await kernel.reload(next.config, next.changed);
        config = next.config;
        logState.level = effectiveLevel(config);
        for (const note of notes) log.info(note);
        kernel.events.emit('docker.event', reloadEvent(config, kernel.plugins.identity));
        log.info('Reloaded configuration', { file: opts.configFile, changed: next.changed.join(',') });
      } catch (err) {
        log.error('Error reloading configuration; keeping the current one', { file: opts.configFile, error: errorMessage(err) });
      }
    });
    return reloading;
  };

  let stopping: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    stopping ??= (async () => {
      log.info('Processing signal, shutting down', { reason });
      await kernel.shutdown(reason);
      await removePidFile(config.pidfile);
      log.info('Daemon shutdown complete');
    })();
    return stopping;
  };

  return { kernel, config: () => config, reload, shutdown };
}

/** Installs the process signal handlers for a running daemon. */
export function handleSignals(d: RunningDaemon): void {
  process.on('SIGHUP', () => void d.reload());
  let signals = 0;
  const onStop = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    d.shutdown(sig).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
}

function effectiveLevel(config: DaemonConfig): LogLevel {
  if (config.debug) return 'debug';
  return (config['log-level'] as LogLevel) || 'info';
}

function since(): number {
  return Math.round(msSinceStart() * 10) / 10;
}
