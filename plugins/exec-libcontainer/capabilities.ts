import { readFileSync } from 'node:fs';
import { InvalidParameterError } from '../../kernel/index.js';
import { DEFAULT_CAPABILITIES } from './oci-defaults.js';

/** Every capability name, by number (linux/capability.h). */
const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

let lastCap: number | undefined;

/** Capabilities the running kernel knows (up to /proc/sys/kernel/cap_last_cap): moby's GetAllCapabilities. */
export function allCapabilities(): string[] {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
    } catch {
      lastCap = ALL_CAPS.length - 1;
    }
  }
  return ALL_CAPS.slice(0, Math.min(lastCap, ALL_CAPS.length - 1) + 1);
}

/** "net_admin", "CAP_NET_ADMIN", "all" → canonical names; unknown names are dockerd's errors. */
export function normalizeCapabilities(caps: readonly string[]): string[] {
  const supported = new Set(allCapabilities());
  return caps.map((raw) => {
    let c = raw.toUpperCase();
    if (c === 'ALL') return c;
    if (!c.startsWith('CAP_')) c = `CAP_${c}`;
    if (!ALL_CAPS.includes(c)) throw new InvalidParameterError(`unknown capability: "${c}"`);
    if (!supported.has(c)) throw new InvalidParameterError(`capability not supported by your kernel or not available in the current environment: "${c}"`);
    return c;
  });
}

/** The container's capability set from --cap-add/--cap-drop/--privileged (moby's TweakCapabilities). */
export function tweakCapabilities(adds: readonly string[] = [], drops: readonly string[] = [], privileged = false): string[] {
  if (privileged) return allCapabilities();
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPABILITIES];
  const capDrop = normalizeCapabilities(drops);
  const capAdd = normalizeCapabilities(adds);
  if (capAdd.includes('ALL')) return allCapabilities().filter((c) => !capDrop.includes(c));
  if (capDrop.includes('ALL')) return capAdd;
  return [...DEFAULT_CAPABILITIES.filter((c) => !capDrop.includes(c)), ...capAdd];
}
