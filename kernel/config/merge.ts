import { InvalidParameterError } from '../errors.js';
import type { DaemonConfig } from './daemon-config.js';
import { KEYS, defaultOf, specOf } from './keys.js';
import { typeProblems } from './type-check.js';
import { clone, goFormat, maskCredentials } from './values.js';

/**
 * File keys + command-line keys → one complete DaemonConfig. As in dockerd, a
 * key may come from the flags or from the file but not both (the classic
 * systemd `-H fd://` vs `"hosts"` failure); `runtimes` is the one exception and
 * is merged. Everything unset gets its default, so consumers never guess.
 */

export interface MergeOptions {
  /** Defaults that replace the table's, e.g. rootless paths chosen by the caller. */
  defaults?: Partial<DaemonConfig>;
}

/**
 * `file` is parseConfigBytes' result; `flags` holds only keys explicitly set on
 * the command line, named and typed as in daemon.json. Throws
 * InvalidParameterError for conflicts; does not validate values (validateConfig does).
 */
export function mergeConfig(file: Record<string, unknown>, flags: Record<string, unknown>, opts: MergeOptions = {}): DaemonConfig {
  checkFlags(flags);
  const errors = conflicts(file, flags);
  if (errors.length) throw new InvalidParameterError(errors.join('\n'));

  const given = (key: string) => (flags[key] !== undefined ? flags[key] : file[key]);
  const cfg: Record<string, unknown> = {};
  for (const key of Object.keys(KEYS)) {
    let value = given(key);
    if (key === 'runtimes' && (flags.runtimes !== undefined || file.runtimes !== undefined)) {
      // mergo semantics: the file's entry wins when both name the same runtime.
      value = { ...(flags.runtimes as object | undefined), ...(file.runtimes as object | undefined) };
    }
    if (value === undefined) value = opts.defaults && Object.hasOwn(opts.defaults, key) ? opts.defaults[key] : defaultOf(key);
    if (value !== undefined) cfg[key] = clone(value);
  }
  applyImplications(cfg, (key) => given(key) !== undefined);
  return cfg as DaemonConfig;
}

/** Settings dockerd derives from others after merging. */
function applyImplications(cfg: Record<string, unknown>, isSet: (key: string) => boolean): void {
  // Legacy single host-gateway-ip becomes the list (migratedNamedConfig).
  if (cfg['host-gateway-ip'] !== undefined) {
    cfg['host-gateway-ips'] = [cfg['host-gateway-ip']];
    delete cfg['host-gateway-ip'];
  }
  // Setting tlsverify at all turns TLS on; tls alone turns verification on.
  if (isSet('tlsverify')) cfg.tls = true;
  else if (isSet('tls')) cfg.tlsverify = cfg.tls;
  // iptables=false silently forces ip-masq=false (verifyDaemonSettings).
  if (cfg.iptables === false) cfg['ip-masq'] = false;
  // Exact duplicate labels collapse (GetConflictFreeLabels); conflicting ones are left for validation.
  if (Array.isArray(cfg.labels)) cfg.labels = [...new Set(cfg.labels as string[])];
}

/** Flags come from our own parser: an unknown or mistyped key is a caller bug, reported plainly. */
function checkFlags(flags: Record<string, unknown>): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const spec = specOf(key);
    if (!spec) problems.push(`unknown flag configuration key: ${key}`);
    else problems.push(...typeProblems(key, spec, value).map((p) => `invalid flag value: ${p}`));
  }
  if (problems.length) throw new InvalidParameterError(problems.join('\n'));
}

/** dockerd's findConfigurationConflicts (steps 3 and 4), in flag-name order. */
function conflicts(file: Record<string, unknown>, flags: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (file['host-gateway-ip'] !== undefined && file['host-gateway-ips'] !== undefined) {
    errors.push('host-gateway-ip and host-gateway-ips must not both be specified in the config file');
  }
  const found: string[] = [];
  for (const key of Object.keys(flags).sort()) {
    if (flags[key] === undefined || key === 'runtimes') continue;
    if (file[key] !== undefined) found.push(printConflict(key, flags[key], file[key]));
    if (key === 'host-gateway-ips' && file['host-gateway-ip'] !== undefined) {
      found.push(printConflict('host-gateway-ip', flags[key], file['host-gateway-ip']));
    }
  }
  if (found.length) {
    errors.push(`the following directives are specified both as a flag and in the configuration file: ${found.join(', ')}`);
  }
  return errors;
}

function printConflict(name: string, flagValue: unknown, fileValue: unknown): string {
  let f = goFormat(flagValue);
  let v = goFormat(fileValue);
  if (name === 'http-proxy' || name === 'https-proxy') {
    f = maskCredentials(f);
    v = maskCredentials(v);
  }
  return `${name}: (from flag: ${f}, from file: ${v})`;
}
