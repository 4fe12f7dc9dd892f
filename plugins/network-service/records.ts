import type { EndpointRequest, IpamConfig, PortBinding } from '../../kernel/index.js';

/** A network as the service persists it (`<data-root>/network/networks/<id>.json`). */
export interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: string;
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfig[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** `bridge`, `host`, `none`: cannot be removed, never pruned. */
  Predefined?: boolean;
  /** IPAM config chosen by the user (`--subnet`): only then may containers ask for a static `--ip`. */
  UserSubnet?: boolean;
}

/** One endpoint of a running container's sandbox. */
export interface EndpointRecord {
  EndpointID: string;
  NetworkID: string;
  NetworkName: string;
  IfName: string;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  Aliases: string[] | null;
  /** `--link name:alias` on a user-defined network: the alias resolves to `name` for this container only. */
  Links?: string[] | null;
  IPAMConfig: EndpointRequest['IPAMConfig'] | null;
  DriverOpts: Record<string, string> | null;
  DNSNames: string[] | null;
  /** What the driver needs back after a restart (host veth name). */
  Driver: Record<string, unknown>;
  /** Published ports as bound (on the endpoint that carries the default route). */
  Ports: PortBinding[];
}

/**
 * What the service keeps per container (`<data-root>/network/containers/<id>.json`):
 * connections made with `docker network connect`/`disconnect` while it was
 * stopped (dockerd keeps them in the container's config), and, while it
 * runs, its sandbox: the namespace path and the endpoints with their
 * addresses (the IPAM allocations restored after a daemon restart).
 */
export interface ContainerNetState {
  ContainerID: string;
  Connected: Record<string, EndpointRequest>;
  Disconnected: string[];
  Sandbox?: {
    ID: string;
    Key: string;
    Endpoints: EndpointRecord[];
    EmbeddedDns: boolean;
    /** Where the embedded DNS forwards other names: the container's `--dns` (else the host's resolvers). */
    ExtServers: string[];
    /** The container's name (without "/") and its /etc/hosts, kept current on connect/disconnect. */
    ContainerName: string;
    HostsPath: string;
  };
}
