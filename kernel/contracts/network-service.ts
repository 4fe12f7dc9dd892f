import type { ContainerRecord } from './container-service.js';

/**
 * Networks as dockerd's libnetwork controller keeps them: the predefined
 * `bridge`, `host` and `none`, user-defined networks with their IPAM, and
 * each container's sandbox (its network namespace with one endpoint per
 * network). API routes and the container service talk to this contract;
 * neither sees a driver.
 *
 * Errors carry dockerd's wording: `network X not found` (404),
 * `network with name X already exists` (409), `X is a pre-defined network
 * and cannot be removed` (403), `error while removing network: network X id
 * Y has active endpoints` (403).
 */

/** api/types/network.Inspect (the shape of `GET /networks/{id}`). */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local' | 'global' | 'swarm';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** network.CreateRequest. */
export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: IpamConfig[] | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  Ingress?: boolean;
}

/** network.EndpointSettings as a container's inspect shows it, per network. */
export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

/** What a container asks of one network (network.EndpointSettings as the client sends it). */
export interface EndpointRequest {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

/** One `/etc/hosts` line and the resolver a container gets from its networks. */
export interface SandboxEtc {
  /** `ip\tname…` entries for the container itself (dockerd's sandbox hosts records). */
  hosts: Array<{ ip: string; names: string[] }>;
  /** Set when the embedded DNS serves the container (user-defined networks): resolv.conf points at it. */
  embeddedDns?: { nameserver: string; extServers: string[] };
}

/** A started container's network attachment, as the exec driver and /etc files need it. */
export interface SandboxAttachment {
  /** Path of the network namespace to join (`NetworkNamespacePath`); undefined = keep the driver's own (none). */
  key?: string;
  etc: SandboxEtc;
  /** Variables of legacy links (`--link` on the default bridge); the container's own of the same name win. */
  env?: string[];
}

/** NetworkSettings of a container in inspect (newest API shape, legacy top-level fields included). */
export type NetworkSettings = Record<string, unknown> & { Networks: Record<string, EndpointSettings>; Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };

export type NetworkFilterArgs = Record<string, string[]>;

export interface NetworkService {
  /** Docker-visible names of the usable network drivers (`docker info` Plugins.Network). */
  drivers(): string[];
  create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }>;
  /** By full ID, name, or unique ID prefix (dockerd's FindNetwork order). NotFoundError `network X not found`. */
  inspect(ref: string, opts?: { verbose?: boolean }): Promise<NetworkResource>;
  list(filters?: NetworkFilterArgs): Promise<NetworkResource[]>;
  remove(ref: string): Promise<void>;
  prune(filters?: NetworkFilterArgs): Promise<{ NetworksDeleted: string[] | null }>;
  /** `docker network connect`: live when the container runs, recorded for its next start otherwise. */
  connect(ref: string, c: ContainerRecord, req: EndpointRequest): Promise<void>;
  disconnect(ref: string, c: ContainerRecord, force: boolean): Promise<void>;

  /** Container start: creates the sandbox and its endpoints (NetworkMode bridge/default or a network name). */
  attach(c: ContainerRecord, paths: { hostsPath: string }): Promise<SandboxAttachment>;
  /** Container stop: endpoints left and deleted, addresses and ports freed, sandbox removed. */
  detach(containerId: string): Promise<void>;
  /** Container removal: forgets connections recorded for its next start. */
  forget(containerId: string): Promise<void>;
  /** After the container service restored its containers: sandboxes of these live on, all others are released. */
  reconcile(liveContainerIds: string[]): Promise<void>;
  /** NetworkSettings of a container for inspect (empty Networks for none/host as dockerd shows them). */
  settings(c: ContainerRecord): NetworkSettings;
  /** Every network name and ID a container is connected to (for `docker ps --filter network=`). */
  containerNetworks(containerId: string): Array<{ id: string; name: string }>;
}
