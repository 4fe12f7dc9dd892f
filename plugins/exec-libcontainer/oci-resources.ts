import { InvalidParameterError, type Resources } from '../../kernel/index.js';
import type { OciDeviceRule, OciResources } from './oci-types.js';

/**
 * Docker's resource fields → OCI `linux.resources` (moby getMemoryResources,
 * getCPUResources, getPidsLimit). The runtime maps them onto cgroup v1 or v2
 * files itself (memory.limit_in_bytes vs memory.max, cpu.shares vs cpu.weight),
 * so the same spec serves both hierarchies.
 */
export function ociResources(r: Resources): Pick<OciResources, 'memory' | 'cpu' | 'pids' | 'blockIO'> {
  const out: Pick<OciResources, 'memory' | 'cpu' | 'pids' | 'blockIO'> = {};
  const memory: NonNullable<OciResources['memory']> = {};
  if ((r.Memory ?? 0) > 0) memory.limit = r.Memory;
  if ((r.MemoryReservation ?? 0) > 0) memory.reservation = r.MemoryReservation;
  // -1 (unlimited swap) is passed through: runc writes "max"/-1 for it.
  if ((r.MemorySwap ?? 0) > 0 || r.MemorySwap === -1) memory.swap = r.MemorySwap;
  if (r.MemorySwappiness !== undefined && r.MemorySwappiness !== null && r.MemorySwappiness >= 0) memory.swappiness = r.MemorySwappiness;
  if (r.OomKillDisable !== undefined && r.OomKillDisable !== null) memory.disableOOMKiller = r.OomKillDisable;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.CpuShares) {
    if (r.CpuShares < 0) throw new InvalidParameterError(`invalid CPU shares (${r.CpuShares}): value must be a positive integer`);
    cpu.shares = r.CpuShares;
  }
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  if ((r.NanoCpus ?? 0) > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.floor((r.NanoCpus! * 100_000) / 1e9);
  }
  if (r.CpuPeriod) cpu.period = r.CpuPeriod;
  if (r.CpuQuota) cpu.quota = r.CpuQuota;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (r.PidsLimit !== undefined && r.PidsLimit !== null) out.pids = { limit: r.PidsLimit <= 0 ? -1 : r.PidsLimit };
  if (r.BlkioWeight) out.blockIO = { weight: r.BlkioWeight };
  return out;
}

/**
 * `--device-cgroup-rule 'c 13:* rwm'` → allow rules (moby
 * AppendDevicePermissionsFromCgroupRules: type a|b|c, major/minor number or *).
 */
export function deviceCgroupRules(rules: readonly string[]): OciDeviceRule[] {
  return rules.map((rule) => {
    const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule.trim());
    if (!m) throw new InvalidParameterError(`invalid device cgroup rule format: '${rule}'`);
    const out: OciDeviceRule = { allow: true, type: m[1] as 'a' | 'b' | 'c', access: m[4] };
    if (m[2] !== '*') out.major = Number(m[2]);
    if (m[3] !== '*') out.minor = Number(m[3]);
    return out;
  });
}
