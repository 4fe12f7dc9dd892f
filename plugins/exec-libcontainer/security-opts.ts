import { InvalidParameterError } from '../../kernel/index.js';
import type { SeccompProfileTemplate } from './seccomp-profile.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | SeccompProfileTemplate;
}

/**
 * HostConfig.SecurityOpt as dockerd parses it (parseSecurityOpt): `key=value`
 * or the legacy `key:value`; `no-new-privileges` alone means true;
 * `seccomp=unconfined`, `seccomp=builtin`/default, or the profile JSON the CLI
 * read from a file. `apparmor=` and `label=` are accepted and ignored (no LSM
 * profiles are loaded); unknown keys are dockerd's error.
 */
export function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const opt of opts) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') continue; // label=disable's legacy spelling
    let sep = opt.indexOf('=');
    if (sep < 0) sep = opt.indexOf(':');
    if (sep < 0) throw new InvalidParameterError(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, sep);
    const value = opt.slice(sep + 1);
    switch (key) {
      case 'no-new-privileges':
        if (value !== 'true' && value !== 'false') throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = value === 'true';
        break;
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else if (value === 'builtin' || value === '') out.seccomp = 'default';
        else {
          try {
            out.seccomp = JSON.parse(value) as SeccompProfileTemplate;
          } catch (err) {
            throw new InvalidParameterError(`Decoding seccomp profile failed: ${(err as Error).message}`);
          }
        }
        break;
      case 'apparmor':
      case 'label':
      case 'systempaths':
      case 'writable-cgroups':
        break;
      default:
        throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}
