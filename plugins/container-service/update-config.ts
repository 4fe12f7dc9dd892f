import { ConflictError, type HostConfig, type UpdateConfig } from '../../kernel/index.js';
import { validateHostConfig } from './host-config-rules.js';

const NUMERIC: string[] = ['BlkioWeight', 'CpuShares', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'Memory', 'MemorySwap', 'MemoryReservation'];
const TEXT: string[] = ['CpusetCpus', 'CpusetMems'];

/**
 * dockerd's UpdateContainer: fields left zero keep their value; NanoCpus and
 * CpuPeriod/CpuQuota exclude each other; the restart policy changes unless
 * the container is auto-removed. Returns the new HostConfig (not applied yet).
 */
export function applyUpdate(current: HostConfig, u: UpdateConfig): HostConfig {
  const cur = current as HostConfig & Record<string, unknown>;
  if ((u.NanoCpus ?? 0) > 0 && ((cur.CpuPeriod as number) > 0 || (cur.CpuQuota as number) > 0)) {
    throw new ConflictError('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  }
  if (((u.CpuPeriod ?? 0) > 0 || (u.CpuQuota ?? 0) > 0) && (cur.NanoCpus as number) > 0) {
    throw new ConflictError('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  }
  if ((u.Memory ?? 0) > 0 && !u.MemorySwap && (cur.MemorySwap as number) > 0 && u.Memory! > (cur.MemorySwap as number)) {
    throw new ConflictError('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  const next: HostConfig & Record<string, unknown> = { ...cur };
  const given = u as Record<string, unknown>;
  for (const k of NUMERIC) if (typeof given[k] === 'number' && given[k] !== 0) next[k] = given[k];
  for (const k of TEXT) if (typeof given[k] === 'string' && given[k] !== '') next[k] = given[k];
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) next.PidsLimit = u.PidsLimit;
  if (u.RestartPolicy?.Name) {
    const same = u.RestartPolicy.Name === cur.RestartPolicy?.Name && (u.RestartPolicy.MaximumRetryCount ?? 0) === (cur.RestartPolicy?.MaximumRetryCount ?? 0);
    if (!same && cur.AutoRemove) throw new ConflictError('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = { Name: u.RestartPolicy.Name, MaximumRetryCount: u.RestartPolicy.MaximumRetryCount ?? 0 };
    validateHostConfig({ RestartPolicy: next.RestartPolicy });
  }
  return next;
}
