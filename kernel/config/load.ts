import { readFile } from 'node:fs/promises';
import { InvalidParameterError, errorMessage } from '../errors.js';
import type { DaemonConfig } from './daemon-config.js';
import { KEYS } from './keys.js';
import { mergeConfig } from './merge.js';
import { parseConfigBytes } from './parse.js';
import { validateConfig } from './validate.js';
import { clone, deepEqual } from './values.js';

/**
 * Startup load and SIGHUP reload of daemon.json: read → parse → merge with
 * flags → validate. Every failure is an InvalidParameterError prefixed with
 * dockerd's `unable to configure the Docker daemon with file <path>: `, which
 * is what people paste into bug reports and search for.
 */

export interface LoadOptions {
  file: string;
  /** True when the path came from --config-file: then a missing file is an error. */
  explicit: boolean;
  /** Keys explicitly set on the command line, named and typed as in daemon.json. */
  flags: Record<string, unknown>;
  /** Replacement defaults (e.g. rootless paths); pass the same ones to reloadDaemonConfig. */
  defaults?: Partial<DaemonConfig>;
}

export async function loadDaemonConfig(opts: LoadOptions): Promise<DaemonConfig> {
  return withFilePrefix(opts.file, async () => {
    const file = await readConfigFile(opts.file, opts.explicit);
    const cfg = mergeConfig(file, opts.flags, { defaults: opts.defaults });
    validateConfig(cfg);
    return cfg;
  });
}

export interface ReloadOptions {
  /** As LoadOptions.explicit; by default a file that disappeared reloads as empty, like dockerd. */
  explicit?: boolean;
  defaults?: Partial<DaemonConfig>;
}

export interface ReloadResult {
  /** A new object; the `current` passed in is never modified. */
  config: DaemonConfig;
  /** Keys whose effective value changed (including `berth`), sorted. */
  changed: string[];
  /** Non-reloadable keys whose file/flag value differs from the running one: they need a restart. */
  ignored: string[];
}

/**
 * SIGHUP: re-read the file with the same checks as at startup, then apply each
 * key's reload rule (keys.ts): `keep` takes the file's value only if present,
 * `reset` and `replace` take it or the default, `restart` keys keep the running
 * value. The result is validated as a whole before anything is returned, so a
 * bad file throws and the caller simply keeps `current`.
 */
export async function reloadDaemonConfig(
  current: Readonly<DaemonConfig>,
  file: string,
  flags: Record<string, unknown>,
  opts: ReloadOptions = {},
): Promise<ReloadResult> {
  return withFilePrefix(file, async () => {
    const fromFile = await readConfigFile(file, opts.explicit ?? false);
    const fresh = mergeConfig(fromFile, flags, { defaults: opts.defaults });
    const isSet = (key: string) => fromFile[key] !== undefined || flags[key] !== undefined;
    const next = clone(current) as Record<string, unknown>;
    const ignored: string[] = [];
    for (const [key, spec] of Object.entries(KEYS)) {
      if (spec.reload === 'restart') {
        if (!deepEqual(fresh[key], current[key])) ignored.push(key);
        continue;
      }
      const value = spec.reload === 'keep' && !isSet(key) ? current[key] : fresh[key];
      if (value === undefined) delete next[key];
      else next[key] = clone(value);
    }
    const config = next as DaemonConfig;
    validateConfig(config);
    const keys = new Set([...Object.keys(current), ...Object.keys(config)]);
    const changed = [...keys].filter((k) => !deepEqual(current[k], config[k])).sort();
    return { config, changed, ignored: ignored.sort() };
  });
}

/** The file's keys; `{}` for a missing file unless it was named explicitly. */
async function readConfigFile(path: string, explicit: boolean): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return {};
    throw new InvalidParameterError(goFileError(path, code, err), { cause: err });
  }
  return parseConfigBytes(bytes);
}

/** Go's *PathError text (`open /x: no such file or directory`), which dockerd prints. */
function goFileError(path: string, code: string | undefined, err: unknown): string {
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory',
  };
  if (code === 'EISDIR') return `read ${path}: is a directory`;
  return code && why[code] ? `open ${path}: ${why[code]}` : errorMessage(err);
}

async function withFilePrefix<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new InvalidParameterError(`unable to configure the Docker daemon with file ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
