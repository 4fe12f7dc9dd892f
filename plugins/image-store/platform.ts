import { InvalidParameterError } from '../../kernel/index.js';

/**
 * OCI platforms as containerd's platforms package reads and normalises them
 * (`linux`, `linux/arm64`, `linux/arm/v7`, `x86_64` → amd64 …), and the
 * host's default, which is what an import without `platform` records.
 */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64', 'x86-64': 'amd64', amd64: 'amd64', aarch64: 'arm64', arm64: 'arm64', armhf: 'arm', armel: 'arm',
  i386: '386', i686: '386', '386': '386', arm: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64',
};
const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd', 'netbsd', 'openbsd', 'solaris', 'illumos', 'aix', 'android', 'ios', 'js', 'plan9', 'wasip1']);

/** The host platform (platforms.DefaultSpec). */
export function hostPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  if (arch === 'arm64') return { os: 'linux', architecture: arch, variant: 'v8' };
  if (arch === 'arm') return { os: 'linux', architecture: arch, variant: `v${(process.config.variables as Record<string, unknown>).arm_version ?? '7'}` };
  return { os: 'linux', architecture: arch };
}

/** platforms.Parse + Normalize of an `os[/arch[/variant]]` specifier. */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().toLowerCase().split('/');
  if (parts.length === 0 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new InvalidParameterError(`"${spec}": invalid platform specifier`);
  }
  const host = hostPlatform();
  if (parts.length === 1) {
    if (KNOWN_OS.has(parts[0]!)) return parts[0] === host.os ? host : { os: parts[0]!, architecture: host.architecture };
    const arch = ARCH_ALIASES[parts[0]!];
    if (!arch) throw new InvalidParameterError(`"${spec}": unknown operating system or architecture: invalid argument`);
    return normalize({ os: host.os, architecture: arch });
  }
  return normalize({ os: parts[0]!, architecture: ARCH_ALIASES[parts[1]!] ?? parts[1]!, variant: parts[2] });
}

function normalize(p: Platform): Platform {
  if (p.architecture === 'arm64' && (p.variant === '8' || p.variant === 'v8' || p.variant === 'v8.0')) return { os: p.os, architecture: p.architecture };
  if (p.architecture === 'arm' && (p.variant === undefined || /^[5-8]$/.test(p.variant))) return { ...p, variant: `v${p.variant ?? '7'}` };
  if (p.architecture === 'amd64' && p.variant === 'v1') return { os: p.os, architecture: p.architecture };
  return p.variant === undefined ? { os: p.os, architecture: p.architecture } : p;
}
