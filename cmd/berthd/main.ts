import 'reflect-metadata';
import { BERTH_DEFAULTS, errorMessage } from '../../kernel/index.js';
import { loadDaemonConfig } from '../../kernel/config/index.js';
import { handleSignals, runDaemon } from '../../kernel/daemon/run-daemon.js';
import { BERTH_VERSION, ENGINE_VERSION } from '../../api-compat/engine-version.js';
import { builtins } from './builtins.js';
import { dropLauncherEnv } from './launcher-env.js';
import { parseFlags, usage } from './flags.js';
import { migrateImagesCommand } from './migrate-images.js';

/** `berthd`: parse dockerd-style flags, then run the daemon until a signal stops it. */
async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'migrate-images') {
    try {
      return await migrateImagesCommand(argv.slice(1), process.env.BERTH_CONFIG_FILE ?? BERTH_DEFAULTS.configFile);
    } catch (err) {
      process.stderr.write(`${errorMessage(err)}\nSee 'berthd migrate-images --help'.\n`);
      return 125;
    }
  }
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\nSee 'berthd --help'.\n`);
    return 125;
  }
  if (flags.help) { process.stdout.write(usage()); return 0; }
  if (flags.version) { process.stdout.write(`Berth version ${BERTH_VERSION} (Docker Engine API compatible, engine ${ENGINE_VERSION})\n`); return 0; }

  const configFile = flags.configFile ?? process.env.BERTH_CONFIG_FILE ?? BERTH_DEFAULTS.configFile;
  const explicit = flags.configFile !== undefined;
  if (flags.validate) {
    try {
      await loadDaemonConfig({ file: configFile, explicit, flags: flags.config });
      process.stderr.write('configuration OK\n');
      return 0;
    } catch (err) {
      process.stderr.write(`${errorMessage(err)}\n`);
      return 1;
    }
  }
  try {
    const daemon = await runDaemon({ manifests: builtins, configFile, explicitConfigFile: explicit, flags: flags.config });
    handleSignals(daemon);
    return -1; // keep running
  } catch (err) {
    process.stderr.write(`failed to start daemon: ${errorMessage(err)}\n`);
    return 1;
  }
}

const start = (): void => {
  dropLauncherEnv(process.env);
  void main(process.argv.slice(2)).then((code) => { if (code >= 0) process.exit(code); });
};
// While berthd's startup snapshot is built (scripts/snapshot-entry.cjs), the
// daemon must not run: the entry keeps `start` and runs it after the
// snapshot is deserialized, with that start's argv and environment.
const snapshotHook = (globalThis as Record<symbol, unknown>)[Symbol.for('berth.snapshot.main')];
if (typeof snapshotHook === 'function') snapshotHook(start);
else start();
