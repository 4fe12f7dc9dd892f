/**
 * Legacy container links (`docker run --link name:alias`) on the default
 * bridge, as dockerd's daemon/links: the linking container gets environment
 * variables describing the linked one (its exposed ports at its bridge
 * address, its name, its environment) and an /etc/hosts entry for it.
 */

/** `name[:alias]` as the CLI sends it, or `/name:/parent/alias` as dockerd stores it. */
export function parseLink(spec: string): { name: string; alias: string } {
  const i = spec.indexOf(':');
  const name = (i < 0 ? spec : spec.slice(0, i)).replace(/^\//, '');
  const alias = i < 0 ? name : spec.slice(i + 1).split('/').pop()!;
  return { name, alias: alias || name };
}

interface PortKey {
  port: number;
  proto: string;
}

/** Exposed ports, TCP first, then by number (moby's withTCPPriority). */
function sortedPorts(exposed: Record<string, unknown> | undefined): PortKey[] {
  const ports: PortKey[] = [];
  for (const k of Object.keys(exposed ?? {})) {
    const [num, proto = 'tcp'] = k.split('/');
    const port = Number(num);
    if (Number.isInteger(port) && port > 0) ports.push({ port, proto });
  }
  return ports.sort((a, b) => {
    if (a.proto === b.proto) return a.port - b.port;
    if (a.proto === 'tcp') return -1;
    if (b.proto === 'tcp') return 1;
    return a.proto < b.proto ? -1 : 1;
  });
}

/**
 * The variables for one link. `linkName` is `/<parent>/<alias>`; the alias
 * becomes the upper-case prefix (`-` → `_`). Consecutive ports of one
 * protocol also get `_START`/`_END` variables, as dockerd's.
 */
export function linkEnv(linkName: string, childIp: string, childEnv: string[] | undefined, exposed: Record<string, unknown> | undefined): string[] {
  const alias = linkName.split('/').pop()!.toUpperCase().replaceAll('-', '_');
  const ports = sortedPorts(exposed);
  const env: string[] = [];
  let start: PortKey | undefined;
  let end: PortKey | undefined;
  for (const [i, p] of ports.entries()) {
    if (i === 0) {
      start = end = p;
      env.push(`${alias}_PORT=${p.proto}://${childIp}:${p.port}`);
    }
    const prefix = `${alias}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${prefix}=${p.proto}://${childIp}:${p.port}`, `${prefix}_ADDR=${childIp}`, `${prefix}_PORT=${p.port}`, `${prefix}_PROTO=${p.proto}`);
    if (end && p.port === end.port + 1 && p.proto === end.proto) {
      end = p;
      if (i < ports.length - 1) continue;
    }
    if (start && end && (start.port !== end.port || start.proto !== end.proto)) {
      const sp = `${alias}_PORT_${start.port}_${start.proto.toUpperCase()}`;
      env.push(`${sp}_START=${start.proto}://${childIp}:${start.port}`, `${sp}_PORT_START=${start.port}`, `${sp}_END=${end.proto}://${childIp}:${end.port}`, `${sp}_PORT_END=${end.port}`);
    }
    start = end = p;
  }
  env.push(`${alias}_NAME=${linkName}`);
  for (const v of childEnv ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) continue;
    const name = v.slice(0, eq);
    // Variables docker build adds; not the linked service's own.
    if (name === 'HOME' || name === 'PATH') continue;
    env.push(`${alias}_ENV_${name}=${v.slice(eq + 1)}`);
  }
  return env;
}

