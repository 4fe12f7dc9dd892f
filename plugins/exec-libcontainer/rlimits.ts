import { readFileSync } from 'node:fs';
import { InvalidParameterError } from '../../kernel/index.js';
import type { OciRlimit } from './oci-types.js';

/**
 * `--ulimit name=soft:hard` → OCI rlimits. Soft above hard is dockerd's
 * error. Without CAP_SYS_RESOURCE no process may raise a hard limit above its
 * own, and the runtime would then fail the whole start; `ceiling` (the
 * daemon's own hard limits, see `daemonRlimitCeiling`) caps both values so the
 * container gets the most it can, never more than the hard limit.
 */
export function clampRlimits(ulimits: ReadonlyArray<{ Name: string; Soft: number; Hard: number }>, ceiling?: (type: string) => number | undefined): OciRlimit[] {
  return ulimits.map((u) => {
    if (u.Soft > u.Hard) throw new InvalidParameterError(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    const type = `RLIMIT_${u.Name.toUpperCase()}`;
    const max = ceiling?.(type);
    const hard = max !== undefined && u.Hard > max ? max : u.Hard;
    return { type, soft: Math.min(u.Soft, hard), hard };
  });
}

/** /proc/self/limits names → RLIMIT_* types. */
const LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU', 'Max file size': 'RLIMIT_FSIZE', 'Max data size': 'RLIMIT_DATA', 'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE', 'Max resident set': 'RLIMIT_RSS', 'Max processes': 'RLIMIT_NPROC', 'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK', 'Max address space': 'RLIMIT_AS', 'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING', 'Max msgqueue size': 'RLIMIT_MSGQUEUE', 'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO', 'Max realtime timeout': 'RLIMIT_RTTIME',
};

/**
 * The daemon's hard limits when it lacks CAP_SYS_RESOURCE (so cannot raise
 * them for a child), else undefined: with the capability any value is allowed.
 */
export function daemonRlimitCeiling(): ((type: string) => number | undefined) | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const eff = BigInt('0x' + (/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'));
    if ((eff >> 24n) & 1n) return undefined; // CAP_SYS_RESOURCE
    const hard = new Map<string, number>();
    for (const line of readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1)) {
      const name = Object.keys(LIMIT_NAMES).find((n) => line.startsWith(n));
      if (!name) continue;
      const cols = line.slice(name.length).trim().split(/\s+/);
      if (cols[1] && cols[1] !== 'unlimited') hard.set(LIMIT_NAMES[name]!, Number(cols[1]));
    }
    return (type) => hard.get(type);
  } catch {
    return undefined;
  }
}
