import { InvalidParameterError } from '../../kernel/index.js';

/**
 * berthd's command line: dockerd's flags for the same things. Each flag maps
 * to the daemon.json key it sets, so the kernel can detect a key given both
 * as a flag and in the file, as dockerd does.
 */
interface FlagSpec {
  long: string;
  short?: string;
  kind: 'string' | 'bool' | 'list' | 'int';
  /** daemon.json key; absent for flags that only steer the command. */
  key?: string;
  help: string;
}

export const FLAGS: readonly FlagSpec[] = [
  { long: 'host', short: 'H', kind: 'list', key: 'hosts', help: 'Daemon socket(s) to connect to (unix:///path, tcp://host:port)' },
  { long: 'config-file', kind: 'string', help: 'Daemon configuration file (default /etc/berth/daemon.json)' },
  { long: 'data-root', kind: 'string', key: 'data-root', help: 'Root directory of persistent state (default /var/lib/berth)' },
  { long: 'exec-root', kind: 'string', key: 'exec-root', help: 'Root directory for execution state files (default /run/berth)' },
  { long: 'pidfile', short: 'p', kind: 'string', key: 'pidfile', help: 'Path to use for daemon PID file (default /run/berth.pid)' },
  { long: 'storage-driver', short: 's', kind: 'string', key: 'storage-driver', help: 'Storage driver to use' },
  { long: 'storage-opt', kind: 'list', key: 'storage-opts', help: 'Storage driver options' },
  { long: 'default-runtime', kind: 'string', key: 'default-runtime', help: 'Default OCI runtime for containers' },
  { long: 'debug', short: 'D', kind: 'bool', key: 'debug', help: 'Enable debug mode' },
  { long: 'log-level', short: 'l', kind: 'string', key: 'log-level', help: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")' },
  { long: 'log-format', kind: 'string', key: 'log-format', help: 'Set the logging format ("text"|"json")' },
  { long: 'group', short: 'G', kind: 'string', key: 'group', help: 'Group for the unix socket (default "docker")' },
  { long: 'label', kind: 'list', key: 'labels', help: 'Set key=value labels to the daemon' },
  { long: 'experimental', kind: 'bool', key: 'experimental', help: 'Enable experimental features' },
  { long: 'live-restore', kind: 'bool', key: 'live-restore', help: 'Enable live restore of containers' },
  { long: 'registry-mirror', kind: 'list', key: 'registry-mirrors', help: 'Preferred registry mirror' },
  { long: 'insecure-registry', kind: 'list', key: 'insecure-registries', help: 'Enable insecure registry communication' },
  { long: 'bridge', short: 'b', kind: 'string', key: 'bridge', help: 'Attach containers to a network bridge' },
  { long: 'bip', kind: 'string', key: 'bip', help: 'Network bridge IP' },
  { long: 'iptables', kind: 'bool', key: 'iptables', help: 'Enable addition of iptables rules (default true)' },
  { long: 'log-driver', kind: 'string', key: 'log-driver', help: 'Default driver for container logs (default "json-file")' },
  { long: 'shutdown-timeout', kind: 'int', key: 'shutdown-timeout', help: 'Default shutdown timeout (default 15)' },
  { long: 'validate', kind: 'bool', help: 'Validate daemon configuration and exit' },
  { long: 'version', short: 'v', kind: 'bool', help: 'Print version information and quit' },
  { long: 'help', short: 'h', kind: 'bool', help: 'Print usage' },
];

export interface ParsedFlags {
  /** daemon.json keys set explicitly on the command line. */
  config: Record<string, unknown>;
  configFile?: string;
  validate: boolean;
  version: boolean;
  help: boolean;
}

export function parseFlags(argv: readonly string[]): ParsedFlags {
  const out: ParsedFlags = { config: {}, validate: false, version: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') throw new InvalidParameterError(`"berthd" accepts no arguments (got ${JSON.stringify(arg)})`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const spec = name.startsWith('--')
      ? FLAGS.find((f) => f.long === name.slice(2))
      : FLAGS.find((f) => f.short === name.slice(1));
    if (!spec) throw new InvalidParameterError(`unknown flag: ${name}`);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (spec.kind === 'bool') {
      if (value !== undefined && !['true', 'false', '1', '0'].includes(value)) {
        throw new InvalidParameterError(`invalid argument "${value}" for "${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
      }
      const on = value === undefined || value === 'true' || value === '1';
      assign(out, spec, on);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new InvalidParameterError(`flag needs an argument: ${name}`);
    }
    if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(value)) throw new InvalidParameterError(`invalid argument "${value}" for "${name}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
      assign(out, spec, Number(value));
    } else if (spec.kind === 'list') {
      const prev = (spec.key ? (out.config[spec.key] as string[] | undefined) : undefined) ?? [];
      assign(out, spec, [...prev, value]);
    } else {
      assign(out, spec, value);
    }
  }
  return out;
}

function assign(out: ParsedFlags, spec: FlagSpec, value: unknown): void {
  if (spec.key) { out.config[spec.key] = value; return; }
  if (spec.long === 'config-file') out.configFile = value as string;
  else if (spec.long === 'validate') out.validate = value as boolean;
  else if (spec.long === 'version') out.version = value as boolean;
  else if (spec.long === 'help') out.help = value as boolean;
}

export function usage(): string {
  const lines = ['Usage:\tberthd [OPTIONS]', '\tberthd migrate-images --from DRIVER [--to DRIVER] [OPTIONS]', '', 'A Docker Engine-compatible container daemon', '', 'Options:'];
  for (const f of FLAGS) {
    const names = `${f.short ? `-${f.short}, ` : '    '}--${f.long}${f.kind === 'bool' ? '' : f.kind === 'list' ? ' list' : ' string'}`;
    lines.push(`  ${names.padEnd(34)}${f.help}`);
  }
  return lines.join('\n') + '\n';
}
