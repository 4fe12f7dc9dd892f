import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { HostFacts } from '../../kernel/index.js';

/**
 * Reads the host facts `docker info` shows, once, from the same sources
 * dockerd uses (uname, /etc/os-release, /sys/fs/cgroup, /proc).
 */
export function probeHost(opts: { cgroupDriver?: string; cgroupRoot?: string; osRelease?: string } = {}): HostFacts {
  const cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';
  const osRelease = parseOsRelease(readOr(opts.osRelease ?? '/etc/os-release', ''));
  const cgroupVersion = existsSync(`${cgroupRoot}/cgroup.controllers`) ? '2' : '1';
  const securityOptions: string[] = [];
  if (existsSync('/sys/kernel/security/apparmor')) securityOptions.push('name=apparmor');
  if (/^Seccomp:/m.test(readOr('/proc/self/status', ''))) securityOptions.push('name=seccomp,profile=builtin');
  if (cgroupVersion === '2') securityOptions.push('name=cgroupns');
  const warnings: string[] = [];
  if (cgroupVersion === '1' && !existsSync(`${cgroupRoot}/memory/memory.memsw.limit_in_bytes`)) {
    warnings.push('WARNING: No swap limit support');
  }
  return {
    hostname: os.hostname(),
    kernelVersion: os.release(),
    operatingSystem: osRelease.PRETTY_NAME ?? 'Linux',
    osVersion: osRelease.VERSION_ID ?? '',
    osType: 'linux',
    architecture: unameMachine(),
    ncpu: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    memTotal: os.totalmem(),
    cgroupVersion,
    cgroupDriver: opts.cgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs',
    securityOptions,
    warnings,
  };
}

export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^["']|["']$/g, '');
  }
  return out;
}

/** `uname -m` spelling ("x86_64", "aarch64"), which is what `docker info` shows as Architecture. */
function unameMachine(): string {
  return typeof os.machine === 'function' ? os.machine() : process.arch;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
