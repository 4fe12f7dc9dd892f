import { InvalidParameterError } from '../errors.js';
import type { DaemonConfig } from './daemon-config.js';
import { KEYS } from './keys.js';
import { typeProblems } from './type-check.js';

/**
 * dockerd's Validate + validatePlatformConfig + verifyDaemonSettings + the
 * runtime checks, run over a merged config. Unlike dockerd (which stops at the
 * first problem) every problem is reported, one per line, so a broken
 * daemon.json is fixed in one edit instead of one restart per mistake.
 */
export function validateConfig(cfg: DaemonConfig): void {
  const problems = configProblems(cfg);
  if (problems.length) throw new InvalidParameterError(problems.join('\n'));
}

/** The problems validateConfig would report, in key-table order. */
export function configProblems(cfg: Readonly<DaemonConfig>): string[] {
  const out: string[] = [];
  for (const [key, spec] of Object.entries(KEYS)) {
    const value = cfg[key];
    if (value === undefined) continue;
    // A config assembled in code may carry wrong types; validators assume right ones.
    const wrongType = typeProblems(key, spec, value);
    if (wrongType.length) { out.push(...wrongType); continue; }
    const found = spec.validate?.(value, cfg);
    if (typeof found === 'string') out.push(found);
    else if (found) out.push(...found);
  }
  return out;
}
