import type { ContainerRecord, NetworkSettings } from '../../kernel/index.js';
import { humanDuration } from './human-duration.js';
import { mountView } from './mount-points.js';
import { healthSuffix } from './health-monitor.js';
import { GO_ZERO_TIME } from './time-format.js';

/**
 * The JSON shapes dockerd answers with for a container: the full inspect
 * (`GET /containers/{id}/json`) and the summary of `GET /containers/json`.
 * Both are the newest API's shapes; version adapters lower them.
 */
export function inspectView(c: ContainerRecord, extra: { execIds?: string[]; graphDriverData?: Record<string, string>; sizes?: { rw: number; rootFs: number }; network?: NetworkSettings }): Record<string, unknown> {
  return {
    Id: c.Id,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: c.State,
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath ?? '',
    HostnamePath: c.HostnamePath ?? '',
    HostsPath: c.HostsPath ?? '',
    LogPath: c.LogPath ?? '',
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: c.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: extra.execIds?.length ? extra.execIds : null,
    HostConfig: { NetworkMode: 'bridge', ...c.HostConfig },
    GraphDriver: { Data: extra.graphDriverData ?? null, Name: c.Driver },
    ...(extra.sizes ? { SizeRw: extra.sizes.rw, SizeRootFs: extra.sizes.rootFs } : {}),
    Mounts: Object.values(c.MountPoints ?? {}).map(mountView),
    Config: c.Config,
    NetworkSettings: extra.network ?? {
      Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, HairpinMode: false, LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '',
      Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '',
      MacAddress: '', Networks: {},
    },
  };
}

export function summaryView(c: ContainerRecord, sizes?: { rw: number; rootFs: number }, network?: NetworkSettings, now = Date.now()): Record<string, unknown> {
  return {
    Id: c.Id,
    Names: [c.Name],
    Image: c.ImageName,
    ImageID: c.Image,
    Command: [c.Path, ...c.Args].join(' '),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: portList(network),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c, now),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode === 'default' || !c.HostConfig.NetworkMode ? 'bridge' : c.HostConfig.NetworkMode },
    NetworkSettings: { Networks: network?.Networks ?? {} },
    Mounts: Object.values(c.MountPoints ?? {}).map(mountView),
    ...(sizes ? { SizeRw: sizes.rw, SizeRootFs: sizes.rootFs } : {}),
  };
}

/** The list's `Ports`: one entry per binding, and exposed ports without one (dockerd's container.PortsFromBindings order). */
export function portList(network: NetworkSettings | undefined): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const [key, bindings] of Object.entries(network?.Ports ?? {})) {
    const [port, type] = key.split('/');
    if (!bindings?.length) out.push({ PrivatePort: Number(port), Type: type });
    else for (const b of bindings) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

/**
 * The time statusText counts from ("Up 3 seconds" from StartedAt, "Exited (0)
 * 2 minutes ago" from FinishedAt), or undefined when the text does not depend
 * on the clock. Kept next to statusText so the two cannot drift apart.
 */
export function statusSince(c: ContainerRecord): string | undefined {
  const s = c.State;
  switch (s.Status) {
    case 'running': case 'paused': return s.StartedAt;
    case 'restarting': return s.FinishedAt;
    case 'exited': return s.FinishedAt === GO_ZERO_TIME ? undefined : s.FinishedAt;
    default: return undefined;
  }
}

/** The STATUS column of `docker ps`, which the CLI prints verbatim. */
export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.State;
  const since = (t: string) => humanDuration(now - Date.parse(t));
  switch (s.Status) {
    case 'running': return `Up ${since(s.StartedAt)}${healthSuffix(s.Health)}`;
    case 'paused': return `Up ${since(s.StartedAt)} (Paused)`;
    case 'restarting': return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    case 'removing': return 'Removal In Progress';
    case 'dead': return 'Dead';
    case 'exited': return s.FinishedAt === GO_ZERO_TIME ? `Exited (${s.ExitCode})` : `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    default: return 'Created';
  }
}
