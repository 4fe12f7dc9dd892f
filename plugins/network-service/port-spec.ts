import { InvalidParameterError, type ContainerRecord, type PortBinding } from '../../kernel/index.js';

/**
 * The ports a container publishes, from HostConfig.PortBindings (`-p`,
 * already split by the CLI into `"80/tcp": [{HostIp, HostPort}]`, a host
 * range kept as "8000-8010") and, with PublishAllPorts (`-P`), every
 * exposed port on an ephemeral host port, as dockerd's getPortMapInfo.
 */
export function containerPortBindings(c: ContainerRecord): PortBinding[] {
  const out: PortBinding[] = [];
  const bindings = c.HostConfig.PortBindings ?? {};
  const keys = new Set(Object.keys(bindings));
  if (c.HostConfig.PublishAllPorts === true) for (const k of Object.keys(c.Config.ExposedPorts ?? {})) keys.add(k);
  for (const key of [...keys].sort(comparePorts)) {
    const [portStr, protoRaw] = key.split('/');
    const proto = (protoRaw || 'tcp').toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new InvalidParameterError(`invalid proto: ${proto}`);
    const containerPort = Number(portStr);
    if (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) throw new InvalidParameterError(`invalid port: ${portStr}`);
    const list = bindings[key]?.length ? bindings[key]! : [{ HostIp: '', HostPort: '' }];
    for (const b of list) {
      const [start, end] = (b.HostPort ?? '').split('-');
      const hostPort = start ? Number(start) : 0;
      const hostPortEnd = end ? Number(end) : hostPort;
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535 || !Number.isInteger(hostPortEnd) || hostPortEnd < hostPort || hostPortEnd > 65535) {
        throw new InvalidParameterError(`invalid port specification: "${b.HostPort}"`);
      }
      out.push({ proto, containerPort, hostIp: b.HostIp ?? '', hostPort, hostPortEnd });
    }
  }
  return out;
}

function comparePorts(a: string, b: string): number {
  return Number(a.split('/')[0]) - Number(b.split('/')[0]) || a.localeCompare(b);
}
