import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ExtensionPoint, InvalidParameterError, Kernel, TextLogger, errorMessage, type GraphDriver, type LogLevel,
} from '../../kernel/index.js';
import { loadDaemonConfig } from '../../kernel/config/index.js';
import { createPidFile, removePidFile } from '../../kernel/daemon/pidfile.js';
import { ImageCore } from '../../plugins/image-store/image-core.js';
import { migrateFromDriver, reportLine } from '../../plugins/image-store/migrate-driver.js';
import { builtins } from './builtins.js';
import { parseFlags } from './flags.js';

export const MIGRATE_USAGE = `Usage:\tberthd migrate-images --from DRIVER [--to DRIVER] [OPTIONS]

Copy the images of one storage driver's store (<data-root>/image/<from>) into
another's, keeping image IDs, diff IDs and tags. berthd must not be running on
that data root. An interrupted run leaves the old store as it was; run it again
to finish.

Options:
      --from string          Storage driver the images are under now
      --to string            Storage driver to copy them to (default: the configured storage-driver)
      --config-file string   Daemon configuration file (default /etc/berth/daemon.json)
      --data-root string     Root directory of persistent state (default /var/lib/berth)
  -p, --pidfile string       PID file of the daemon (default /run/berth.pid)
  -h, --help                 Print usage
`;

/**
 * `berthd migrate-images`: the offline half of a storage-driver change. It
 * takes the daemon's PID file for the whole run, so a berthd cannot start
 * on the same data root meanwhile (and the command refuses to run while
 * one is up, with dockerd's pidfile message).
 */
export async function migrateImagesCommand(argv: string[], configFileDefault: string): Promise<number> {
  let from: string | undefined;
  let to: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--(from|to)(?:=(.*))?$/.exec(arg);
    if (!m) { rest.push(arg); continue; }
    const value = m[2] ?? argv[++i];
    if (!value) throw new InvalidParameterError(`flag needs an argument: --${m[1]}`);
    if (m[1] === 'from') from = value; else to = value;
  }
  const flags = parseFlags(rest);
  if (flags.help) { process.stdout.write(MIGRATE_USAGE); return 0; }
  if (!from) throw new InvalidParameterError('--from is required: the storage driver the images are under now');
  const configFile = flags.configFile ?? configFileDefault;
  const config = await loadDaemonConfig({ file: configFile, explicit: flags.configFile !== undefined, flags: flags.config });
  to ??= config['storage-driver'];
  if (!to) throw new InvalidParameterError('--to is required when daemon.json names no storage-driver');
  if (to === from) throw new InvalidParameterError(`--from and --to are both ${from}`);

  const log = new TextLogger({ level: (config.debug ? 'debug' : (config['log-level'] as LogLevel) || 'info'), format: config['log-format'] === 'json' ? 'json' : 'text' });
  await mkdir(config['data-root'], { recursive: true, mode: 0o711 });
  const kernel = new Kernel(builtins, log);
  try {
    await createPidFile(config.pidfile);
    // The target driver with the configured storage-opts when it is the configured one.
    const opts = config['storage-driver'] === to ? config['storage-opts'] ?? [] : [];
    const target = await kernel.plugins.activateDetached<GraphDriver>(ExtensionPoint.GraphDriver, to, { ...config, 'storage-driver': to, 'storage-opts': opts });
    try {
      const dst = await ImageCore.open({
        root: join(config['data-root'], 'image', to), driver: () => target.instance, driverName: to, events: kernel.events, log,
      });
      const report = await migrateFromDriver({
        host: kernel.plugins, config, from, dst, log, events: kernel.events,
        progress: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`${reportLine(report)}\n`);
      return report.failed.length ? 1 : 0;
    } finally {
      await target.retire();
    }
  } catch (err) {
    process.stderr.write(`migrate-images: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    await kernel.shutdown('migrate-images done').catch(() => {});
    await removePidFile(config.pidfile);
  }
}
