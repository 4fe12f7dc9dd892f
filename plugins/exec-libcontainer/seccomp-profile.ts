import { InvalidParameterError } from '../../kernel/index.js';
import type { OciSeccomp, OciSyscall } from './oci-types.js';

/** A condition on a rule: moby's `Filter` (architectures use Go/libseccomp names: amd64, arm64, s390x…). */
export interface SeccompFilter {
  caps?: string[];
  arches?: string[];
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel?: string;
}

export interface SeccompRuleTemplate extends OciSyscall {
  /** Older profiles name one syscall. */
  name?: string;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

/** A Docker seccomp profile (`--security-opt seccomp=<file>` JSON) before it is resolved for a container. */
export interface SeccompProfileTemplate {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures: string[] | null }>;
  flags?: string[];
  listenerPath?: string;
  syscalls: SeccompRuleTemplate[];
}

/** Facts about the container and host that rules are conditioned on. */
export interface SeccompContext {
  /** The container's bounding capability set (CAP_* names). */
  capabilities: readonly string[];
  /** libseccomp's name of the host architecture (amd64, arm64, …). */
  arch: string;
  /** Host kernel release (uname -r). */
  kernelRelease: string;
}

/** libseccomp architecture name → OCI SCMP_ARCH_*; moby's nativeToSeccomp. */
const NATIVE_TO_SECCOMP: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  loong64: 'SCMP_ARCH_LOONGARCH64', mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64', mips3l64n32: 'SCMP_ARCH_MIPSEL64N32', mipsle: 'SCMP_ARCH_MIPSEL',
  ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

/** Node's process.arch → libseccomp's name (moby's goToNative, keyed by Node's names). */
export function nativeArch(nodeArch: string = process.arch): string {
  const map: Record<string, string> = {
    ia32: 'x86', x64: 'amd64', arm: 'arm', arm64: 'arm64', loong64: 'loong64', mips: 'mipsle',
    mipsel: 'mipsle', ppc: 'ppc', ppc64: 'ppc64le', riscv64: 'riscv64', s390: 's390', s390x: 's390x',
  };
  return map[nodeArch] ?? nodeArch;
}

/**
 * Resolves a profile template into the OCI `linux.seccomp` of one container,
 * with moby's `setupSeccomp` rules: the archMap entry of the host architecture
 * becomes `architectures`; a rule is dropped when an `excludes` condition
 * matches or an `includes` condition does not.
 */
export function resolveSeccompProfile(profile: SeccompProfileTemplate, ctx: SeccompContext): OciSeccomp | undefined {
  if (!profile.defaultAction && profile.syscalls.length === 0) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidParameterError("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const out: OciSeccomp = { defaultAction: profile.defaultAction, architectures: [...(profile.architectures ?? [])], syscalls: [] };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  const scmpArch = NATIVE_TO_SECCOMP[ctx.arch];
  const entry = profile.archMap?.find((a) => a.architecture === scmpArch);
  if (entry) out.architectures!.push(entry.architecture, ...(entry.subArchitectures ?? []));

  const caps = new Set(ctx.capabilities);
  for (const rule of profile.syscalls) {
    if (rule.name && rule.names?.length) {
      throw new InvalidParameterError("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
    }
    const names = rule.name ? [rule.name] : rule.names;
    const ex = rule.excludes;
    if (ex) {
      if (ex.arches?.includes(ctx.arch)) continue;
      if (ex.caps?.some((c) => caps.has(c))) continue;
      if (ex.minKernel && kernelAtLeast(ctx.kernelRelease, ex.minKernel)) continue;
    }
    const inc = rule.includes;
    if (inc) {
      if (inc.arches?.length && !inc.arches.includes(ctx.arch)) continue;
      if (inc.caps?.some((c) => !caps.has(c))) continue;
      if (inc.minKernel && !kernelAtLeast(ctx.kernelRelease, inc.minKernel)) continue;
    }
    const call: OciSyscall = { names: [...names], action: rule.action };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    out.syscalls!.push(call);
  }
  return out;
}

/** Compares "<kernel>.<major>" only, as moby does ("3.12.25-gentoo" equals "3.12"). */
export function kernelAtLeast(release: string, min: string): boolean {
  const parse = (s: string) => {
    const m = /^(\d+)\.(\d+)/.exec(s);
    if (!m) throw new InvalidParameterError(`failed to parse kernel version "${s}"`);
    return [Number(m[1]), Number(m[2])] as const;
  };
  const [k, j] = parse(release);
  const [mk, mj] = parse(min);
  return k > mk || (k === mk && j >= mj);
}
