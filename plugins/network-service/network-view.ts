import type { ContainerRecord, EndpointSettings, NetworkResource, NetworkSettings } from '../../kernel/index.js';
import type { ContainerNetState, EndpointRecord, NetworkRecord } from './records.js';

/**
 * The Engine API's shapes for networks (`GET /networks/{id}`) and for a
 * container's `NetworkSettings`, in dockerd's field order. The top-level
 * legacy fields (IPAddress, Gateway, MacAddress, …) describe the endpoint
 * on the default `bridge` network only, as dockerd fills them.
 */
export function networkResource(n: NetworkRecord, attached: Array<{ containerId: string; name: string; ep: EndpointRecord }> | undefined): NetworkResource {
  return {
    Name: n.Name,
    Id: n.Id,
    Created: n.Created,
    Scope: 'local',
    Driver: n.Driver,
    EnableIPv4: true,
    EnableIPv6: n.EnableIPv6,
    IPAM: { Driver: n.IPAM.Driver, Options: n.IPAM.Options, Config: n.IPAM.Config },
    Internal: n.Internal,
    Attachable: n.Attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: Object.fromEntries((attached ?? []).map((a) => [a.containerId, {
      Name: a.name,
      EndpointID: a.ep.EndpointID,
      MacAddress: a.ep.MacAddress,
      IPv4Address: a.ep.IPAddress ? `${a.ep.IPAddress}/${a.ep.IPPrefixLen}` : '',
      IPv6Address: '',
    }])),
    Options: n.Options,
    Labels: n.Labels,
  };
}

export function endpointSettings(ep: Partial<EndpointRecord> & { NetworkID: string }, req?: { Aliases?: string[] | null; Links?: string[] | null; IPAMConfig?: EndpointSettings['IPAMConfig']; MacAddress?: string; DriverOpts?: Record<string, string> | null }): EndpointSettings {
  return {
    IPAMConfig: ep.IPAMConfig ?? req?.IPAMConfig ?? null,
    Links: ep.Links ?? (req?.Links?.length ? req.Links : null),
    Aliases: ep.Aliases ?? (req?.Aliases?.length ? req.Aliases : null),
    MacAddress: ep.MacAddress ?? req?.MacAddress ?? '',
    DriverOpts: ep.DriverOpts ?? req?.DriverOpts ?? null,
    GwPriority: 0,
    NetworkID: ep.NetworkID,
    EndpointID: ep.EndpointID ?? '',
    Gateway: ep.Gateway ?? '',
    IPAddress: ep.IPAddress ?? '',
    IPPrefixLen: ep.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: ep.DNSNames ?? null,
  };
}

/** `NetworkSettings.Ports`: every exposed or published port; bindings while running, else null. */
export function portsView(c: ContainerRecord, eps: EndpointRecord[] | undefined): NetworkSettings['Ports'] {
  const out: NetworkSettings['Ports'] = {};
  if (!eps) return out;
  const keys = new Set([...Object.keys(c.Config.ExposedPorts ?? {}), ...Object.keys(c.HostConfig.PortBindings ?? {})]);
  for (const k of keys) out[k.includes('/') ? k : `${k}/tcp`] = null;
  for (const ep of eps) {
    for (const p of ep.Ports) {
      const key = `${p.containerPort}/${p.proto}`;
      (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
  }
  return out;
}

export function networkSettings(
  c: ContainerRecord,
  state: ContainerNetState | undefined,
  configured: Array<{ name: string; id: string; req: Parameters<typeof endpointSettings>[1] }>,
): NetworkSettings {
  const sb = state?.Sandbox;
  const networks: Record<string, EndpointSettings> = {};
  if (sb) for (const ep of sb.Endpoints) networks[ep.NetworkName] = endpointSettings(ep);
  for (const n of configured) if (!networks[n.name]) networks[n.name] = endpointSettings({ NetworkID: n.id }, n.req);
  const def = sb?.Endpoints.find((e) => e.NetworkName === 'bridge');
  return {
    Bridge: '',
    SandboxID: sb?.ID ?? '',
    SandboxKey: sb?.Key ?? '',
    Ports: portsView(c, sb?.Endpoints),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: def?.EndpointID ?? '',
    Gateway: def?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: def?.IPAddress ?? '',
    IPPrefixLen: def?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: def?.MacAddress ?? '',
    Networks: networks,
  };
}

export function nowRfc3339Nano(): string {
  const d = new Date();
  const ns = String(d.getMilliseconds() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n)).padStart(9, '0').replace(/0+$/, '');
  return d.toISOString().replace(/\.\d{3}Z$/, ns ? `.${ns}Z` : 'Z');
}
