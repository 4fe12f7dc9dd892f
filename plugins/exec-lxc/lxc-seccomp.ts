import { InvalidParameterError } from '../../kernel/index.js';
import type { OciSeccomp, OciSyscallArg } from '../exec-libcontainer/oci-types.js';

/**
 * The resolved OCI seccomp profile (moby's default or `--security-opt
 * seccomp=<json>`, already filtered by capability, arch and kernel in
 * exec-libcontainer's seccomp-profile.ts) as an LXC version-2 policy file:
 *
 *   2
 *   allowlist errno 1          ← defaultAction SCMP_ACT_ERRNO (defaultErrnoRet)
 *   accept4 allow
 *   personality allow [0,0,SCMP_CMP_EQ]
 *   clone3 errno 38
 *
 * LXC resolves the names per architecture itself (on amd64: x86_64, i386 and
 * x32 contexts). Arguments are `[index,value,op]`; for SCMP_CMP_MASKED_EQ
 * LXC wants `[index,datum,op,mask]` where OCI has value=mask, valueTwo=datum.
 * What LXC cannot express — SCMP_ACT_LOG/TRACE actions, filter flags, a
 * listener — is refused with a clear error instead of being dropped.
 */
export function lxcSeccompPolicy(p: OciSeccomp): string {
  if (p.flags && p.flags.length > 0) throw new InvalidParameterError(`exec-lxc: seccomp flags (${p.flags.join(', ')}) are not supported by LXC`);
  if (p.listenerPath) throw new InvalidParameterError('exec-lxc: a seccomp listener is not supported by LXC');
  const lines = ['2'];
  const def = action(p.defaultAction, p.defaultErrnoRet);
  if (p.defaultAction === 'SCMP_ACT_ALLOW') lines.push('denylist allow');
  else lines.push(`allowlist ${def}`);
  for (const rule of p.syscalls ?? []) {
    const act = action(rule.action, rule.errnoRet ?? (rule.action === 'SCMP_ACT_ERRNO' ? 1 : undefined));
    const args = (rule.args ?? []).map(arg).join('');
    for (const name of rule.names) {
      if (!/^[a-z0-9_]+$/.test(name)) throw new InvalidParameterError(`exec-lxc: invalid syscall name in seccomp profile: ${JSON.stringify(name)}`);
      lines.push(`${name} ${act}${args ? ` ${args}` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}

function action(a: string, errnoRet?: number): string {
  switch (a) {
    case 'SCMP_ACT_ALLOW': return 'allow';
    case 'SCMP_ACT_ERRNO': return `errno ${errnoRet ?? 1}`;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
    case 'SCMP_ACT_KILL_PROCESS': return 'kill';
    case 'SCMP_ACT_TRAP': return 'trap';
    default: throw new InvalidParameterError(`exec-lxc: seccomp action ${a} is not supported by LXC`);
  }
}

const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

function arg(a: OciSyscallArg): string {
  if (!OPS.has(a.op)) throw new InvalidParameterError(`exec-lxc: seccomp operator ${a.op} is not supported by LXC`);
  if (a.op === 'SCMP_CMP_MASKED_EQ') return `[${a.index},${a.valueTwo ?? 0},${a.op},${a.value}]`;
  return `[${a.index},${a.value},${a.op}]`;
}
