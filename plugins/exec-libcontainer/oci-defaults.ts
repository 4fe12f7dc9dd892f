import { existsSync, readFileSync } from 'node:fs';
import type { OciDeviceRule, OciMount } from './oci-types.js';

/**
 * dockerd's default Linux spec, as data (moby `daemon/pkg/oci/defaults.go` and
 * `caps/defaults.go`). `oci-spec.ts` starts from these and applies the
 * container's options the way moby's SpecOpts do.
 */

/** The capabilities every container gets unless `--cap-drop`ped (moby's DefaultCapabilities). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** /dev/shm size when HostConfig.ShmSize is 0 (dockerd's DefaultShmSize, 64 MiB). */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** The default mounts, in dockerd's order; /dev/shm gets `size=` from ShmSize. */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

let maskedCache: string[] | undefined;

/**
 * Paths hidden from the container (bind of /dev/null or an empty tmpfs),
 * including the advisories' additions: /proc/interrupts, powercap and each
 * CPU's thermal_throttle (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p).
 */
export function defaultMaskedPaths(): string[] {
  if (!maskedCache) {
    const paths = [
      '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
      '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap',
      '/sys/firmware',
    ];
    for (const cpu of possibleCpus()) {
      const p = `/sys/devices/system/cpu/cpu${cpu}/thermal_throttle`;
      if (existsSync(p)) paths.push(p);
    }
    maskedCache = paths;
  }
  return [...maskedCache];
}

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * The device cgroup rules: deny everything, then allow null, zero, full,
 * random, urandom, tty, console, ptmx; deny 10:229 (/dev/fuse). The runtime
 * creates the default device nodes itself (runtime-spec "default devices").
 */
export function defaultDeviceRules(): OciDeviceRule[] {
  const allow = (major: number, minor: number): OciDeviceRule => ({ allow: true, type: 'c', major, minor, access: 'rwm' });
  return [
    { allow: false, access: 'rwm' },
    allow(1, 5), allow(1, 3), allow(1, 9), allow(1, 8), allow(5, 0), allow(5, 1),
    { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
  ];
}

/** CPU numbers from /sys/devices/system/cpu/possible ("0-3,8"). */
function possibleCpus(): number[] {
  try {
    return parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
  } catch {
    return [];
  }
}

export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}
