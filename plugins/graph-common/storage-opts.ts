import { InvalidParameterError } from '../../kernel/index.js';

/** One `--storage-opt key=value`, split the way dockerd's graphdriver.ParseStorageOptKeyValue does. */
export function parseStorageOpt(opt: string): { key: string; value: string } {
  const i = opt.indexOf('=');
  if (i < 0) throw new InvalidParameterError(`unable to parse storage-opt key/value: ${opt}`);
  return { key: opt.slice(0, i).trim(), value: opt.slice(i + 1).trim() };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A size such as "10G" or "512m" in bytes (go-units RAMInBytes: binary multiples). */
export function parseRamSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new InvalidParameterError(`invalid size: '${value}'`);
  return Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}
