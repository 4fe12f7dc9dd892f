import type { DaemonConfig } from '../../kernel/index.js';

/**
 * `RegistryConfig` of `/info`, as dockerd builds it from `registry-mirrors`
 * and `insecure-registries`: CIDRs (127.0.0.0/8 always) in one list,
 * host[:port] entries as non-secure index configs, mirrors with a trailing "/".
 */
export function registryConfig(cfg: Readonly<DaemonConfig>): Record<string, unknown> {
  const mirrors = (cfg['registry-mirrors'] ?? []).map((m) => (m.endsWith('/') ? m : m + '/'));
  const cidrs = ['127.0.0.0/8', '::1/128'];
  const indexConfigs: Record<string, unknown> = {
    'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true },
  };
  for (const entry of cfg['insecure-registries'] ?? []) {
    if (/^[0-9a-fA-F.:]+\/\d+$/.test(entry)) {
      if (!cidrs.includes(entry)) cidrs.push(entry);
    } else {
      indexConfigs[entry] = { Name: entry, Mirrors: [], Secure: false, Official: false };
    }
  }
  return { IndexConfigs: indexConfigs, InsecureRegistryCIDRs: cidrs, Mirrors: mirrors };
}
