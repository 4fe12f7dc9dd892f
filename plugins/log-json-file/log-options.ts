import { InvalidParameterError } from '../../kernel/index.js';
import { fromHumanSize, ramInBytes } from '../../lib/go-size.js';

export const DRIVER_NAME = 'json-file';

/** Options every driver accepts (logger.builtInLogOpts plus the dual-logging cache keys); never passed to the driver. */
const GENERIC_OPTS = ['mode', 'max-buffer-size', 'cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress'];
/** json-file's own options and the common attribute options (jsonfilelog.ValidateLogOpt). */
const DRIVER_OPTS = ['env', 'env-regex', 'labels', 'labels-regex', 'tag', 'max-file', 'max-size', 'compress'];

/** Rotation settings parsed from log-opts (jsonfilelog.New). */
export interface RotationOptions {
  /** Bytes before a rotation; -1: never rotate. */
  maxSize: number;
  maxFiles: number;
  compress: boolean;
}

/**
 * dockerd's logger.ValidateLogOpts for json-file: the generic `mode` and
 * `max-buffer-size` checks, the dual-logging cache check, then the option
 * names. Values of max-size/max-file/compress are checked later, when the
 * log is opened (parseRotation), as dockerd does at container start.
 */
export function validateLogOptions(cfg: Record<string, string>): void {
  const mode = cfg.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw new InvalidParameterError(`logger: logging mode not supported: ${mode}`);
  if ('max-buffer-size' in cfg) {
    if (mode !== 'non-blocking') throw new InvalidParameterError("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    try {
      ramInBytes(cfg['max-buffer-size']!);
    } catch (err) {
      throw new InvalidParameterError(`error parsing option max-buffer-size: ${(err as Error).message}`);
    }
  }
  const cacheDisabled = cfg['cache-disabled'];
  if (cacheDisabled && parseGoBool(cacheDisabled) === undefined) {
    throw new InvalidParameterError(`invalid value for option cache-disabled: ${cacheDisabled}`);
  }
  for (const key of Object.keys(cfg)) {
    if (GENERIC_OPTS.includes(key) || DRIVER_OPTS.includes(key)) continue;
    throw new InvalidParameterError(`unknown log opt '${key}' for ${DRIVER_NAME} log driver`);
  }
}

/** jsonfilelog.New's parsing of the rotation options, with its errors. */
export function parseRotation(cfg: Record<string, string>): RotationOptions {
  let maxSize = -1;
  if ('max-size' in cfg) {
    maxSize = wrap(() => fromHumanSize(cfg['max-size']!));
    if (maxSize <= 0) throw new InvalidParameterError('max-size must be a positive number');
  }
  let maxFiles = 1;
  if ('max-file' in cfg) {
    maxFiles = goAtoi(cfg['max-file']!);
    if (maxFiles < 1) throw new InvalidParameterError('max-file cannot be less than 1');
  }
  let compress = false;
  if ('compress' in cfg) {
    const b = parseGoBool(cfg.compress!);
    if (b === undefined) throw new InvalidParameterError(`strconv.ParseBool: parsing ${JSON.stringify(cfg.compress)}: invalid syntax`);
    compress = b;
    if (compress && (maxFiles === 1 || maxSize === -1)) {
      throw new InvalidParameterError('compress cannot be true when max-file is less than 2 or max-size is not set');
    }
  }
  return { maxSize, maxFiles, compress };
}

/**
 * A container's log-opts as dockerd's mergeAndVerifyLogConfig leaves them: the
 * daemon's `log-opts` fill in what the container did not set when the daemon's
 * default driver is json-file; the dual-logging cache keys always come along.
 */
export function mergeDaemonOptions(
  container: Record<string, string> | null | undefined,
  daemonDriver: string,
  daemonOpts: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = { ...(container ?? {}) };
  for (const [k, v] of Object.entries(daemonOpts)) {
    if (k in out) continue;
    if (daemonDriver === DRIVER_NAME || k.startsWith('cache-')) out[k] = v;
  }
  return out;
}

function goAtoi(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new InvalidParameterError(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new InvalidParameterError(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InvalidParameterError((err as Error).message);
  }
}
