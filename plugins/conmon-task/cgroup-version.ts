import { statfsSync } from 'node:fs';

/** cgroup v2 when /sys/fs/cgroup is the unified hierarchy (hybrid hosts count as v1, as runc sees them). */
export function detectCgroupVersion(): '1' | '2' {
  try {
    return statfsSync('/sys/fs/cgroup').type === 0x63677270 ? '2' : '1';
  } catch {
    return '1';
  }
}
