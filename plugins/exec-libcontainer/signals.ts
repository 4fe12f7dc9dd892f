import { constants } from 'node:os';
import { InvalidParameterError } from '../../kernel/index.js';

/**
 * Normalizes a Docker signal ("TERM", "SIGTERM", "sigkill", "9") to the
 * runtime's form: "SIGTERM", or the number as a string for real-time signals
 * and numbers without a name. Unknown names are dockerd's error.
 */
export function signalName(sig: string | number): string {
  const signals = constants.signals as Record<string, number>;
  if (typeof sig === 'number' || /^\d+$/.test(sig)) {
    const n = Number(sig);
    if (!Number.isInteger(n) || n <= 0 || n > 64) throw new InvalidParameterError(`Invalid signal: ${sig}`);
    return Object.keys(signals).find((k) => signals[k] === n) ?? String(n);
  }
  let name = sig.toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return String(34 + Number(rt[1] ?? 0));
  if (!(name in signals)) throw new InvalidParameterError(`Invalid signal: ${sig}`);
  return name;
}
