/**
 * A network driver gives containers connectivity (libnetwork's driverapi):
 * a required core plus optional abilities as separate interfaces.
 * Results flow back through the `JoinInfo` callbacks instead of big structs.
 *
 * The network service (network-service.ts) owns networks, IPAM and
 * sandboxes; a driver only programs the host for what the service decided:
 * the service hands it the pools and each endpoint's address and MAC, and
 * the sandbox (a network namespace bind-mounted at `sandboxKey`) to join.
 */
export interface NetworkDriver {
  /** Docker-visible driver name: "bridge", "host", "null", or a remote plugin's name. */
  readonly type: string;
  readonly scope: 'local' | 'global';
  /**
   * Driver options as Docker names them (`com.docker.network.bridge.name`,
   * `com.docker.network.driver.mtu`, …) plus the generic ones the service
   * adds (`com.docker.network.internal` = "true"). Called again at every
   * daemon start for the networks the service keeps (must be idempotent).
   */
  createNetwork(id: string, options: Record<string, string>, ipv4: IpamData[], ipv6: IpamData[]): Promise<void>;
  deleteNetwork(id: string): Promise<void>;
  createEndpoint(networkId: string, endpointId: string, iface: EndpointInterface, options: Record<string, unknown>): Promise<void>;
  deleteEndpoint(networkId: string, endpointId: string): Promise<void>;
  endpointInfo(networkId: string, endpointId: string): Promise<Record<string, unknown>>;
  /**
   * Plugs the endpoint into the sandbox as interface `options.ifName` (eth0, eth1 …);
   * `defaultRoute`: the sandbox's default route goes through this network's gateway
   * (the service picks one network per sandbox, as libnetwork's gateway endpoint).
   */
  join(networkId: string, endpointId: string, sandboxKey: string, info: JoinInfo, options: { ifName: string; defaultRoute: boolean; createSandbox?: boolean }): Promise<void>;
  /**
   * Optional: the driver can create the sandbox itself while joining its
   * first endpoint (`options.createSandbox`: `sandboxKey` is an empty file
   * to bind-mount a new network namespace on, with loopback up), so the
   * namespace and the interface cost one process instead of two.
   */
  readonly createsSandbox?: boolean;
  /**
   * Takes the endpoint out of its sandbox. `sandboxGone`: the sandbox is being
   * destroyed (with every interface in it), so nothing needs unplugging.
   */
  leave(networkId: string, endpointId: string, options?: { sandboxGone?: boolean }): Promise<void>;
  /** Daemon shutdown: take down what the driver programmed (rules, proxies, links without live endpoints). */
  dispose(): Promise<void>;
}

export interface IpamData {
  addressSpace?: string;
  /** CIDR of the pool ("172.18.0.0/16"). */
  pool: string;
  /** Gateway as CIDR ("172.18.0.1/16"). */
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface EndpointInterface {
  /** CIDR ("172.18.0.2/16"). */
  address?: string;
  addressIPv6?: string;
  macAddress?: string;
}

export interface JoinInfo {
  setGateway(ip: string): void;
  setGatewayIPv6(ip: string): void;
  addStaticRoute(destination: string, nextHop: string): void;
  setInterfaceName(srcName: string, dstPrefix: string): void;
}

/** One published port as asked (`-p`) and as bound (`HostPort` filled in for ephemeral ports). */
export interface PortBinding {
  proto: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  /** '' = every address (0.0.0.0 and ::). */
  hostIp: string;
  /** 0 = ephemeral (taken from the local port range). */
  hostPort: number;
  /** The last port of a `-p 8000-8010:80` host range (ephemeral choice within it); equals hostPort otherwise. */
  hostPortEnd?: number;
}

/** Optional: drivers that publish ports / program NAT for an endpoint. */
export interface ExternalConnectivity {
  /** Binds the ports; returns them as bound (one entry per host address family actually bound). */
  programExternalConnectivity(networkId: string, endpointId: string, options: { portBindings: PortBinding[] }): Promise<PortBinding[]>;
  revokeExternalConnectivity(networkId: string, endpointId: string): Promise<void>;
}

export function hasExternalConnectivity(d: NetworkDriver): d is NetworkDriver & ExternalConnectivity {
  return typeof (d as Partial<ExternalConnectivity>).programExternalConnectivity === 'function';
}

/** Optional: drivers whose per-endpoint host state must be re-adopted after a daemon restart (live-restore). */
export interface EndpointRestore {
  restoreEndpoint(networkId: string, endpointId: string, iface: EndpointInterface, state: { hostIfName?: string; portBindings: PortBinding[] }): Promise<void>;
}

export function hasEndpointRestore(d: NetworkDriver): d is NetworkDriver & EndpointRestore {
  return typeof (d as Partial<EndpointRestore>).restoreEndpoint === 'function';
}
