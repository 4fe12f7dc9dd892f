import { constants } from 'node:os';
import { InvalidParameterError } from '../../kernel/index.js';

/**
 * dockerd's signal.ParseSignal: a name with or without `SIG` in any case,
 * or a number. Returns the canonical name ("SIGTERM") and number; real-time
 * signals and unnamed numbers are named by their number.
 */
export function parseSignal(sig: string | number): { name: string; number: number } {
  const table = constants.signals as Record<string, number>;
  if (typeof sig === 'number' || /^\d+$/.test(String(sig))) {
    const n = Number(sig);
    if (!Number.isInteger(n) || n <= 0 || n > 64) throw new InvalidParameterError(`Invalid signal: ${sig}`);
    const name = Object.keys(table).find((k) => table[k] === n && k !== 'SIGIOT' && k !== 'SIGPOLL');
    return { name: name ?? String(n), number: n };
  }
  let name = sig.trim().toUpperCase();
  if (!name.startsWith('SIG')) name = `SIG${name}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const n = name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
    return { name: String(n), number: n };
  }
  const n = table[name];
  if (n === undefined) throw new InvalidParameterError(`Invalid signal: ${sig}`);
  return { name, number: n };
}

export const SIGKILL = 9;
