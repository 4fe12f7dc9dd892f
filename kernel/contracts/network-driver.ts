/**
 * A network driver gives containers connectivity (libnetwork's driverapi):
 * a required core plus optional abilities as separate interfaces.
 * Results flow back through the `JoinInfo` callbacks instead of big structs.
 */
export interface NetworkDriver {
  /** Docker-visible driver name: "bridge", "host", "null", or a remote plugin's name. */
  readonly type: string;
  readonly scope: 'local' | 'global';
  createNetwork(id: string, options: Record<string, unknown>, ipv4: IpamData[], ipv6: IpamData[]): Promise<void>;
  deleteNetwork(id: string): Promise<void>;
  createEndpoint(networkId: string, endpointId: string, iface: EndpointInterface, options: Record<string, unknown>): Promise<void>;
  deleteEndpoint(networkId: string, endpointId: string): Promise<void>;
  endpointInfo(networkId: string, endpointId: string): Promise<Record<string, unknown>>;
  join(networkId: string, endpointId: string, sandboxKey: string, info: JoinInfo): Promise<void>;
  leave(networkId: string, endpointId: string): Promise<void>;
  dispose(): Promise<void>;
}

export interface IpamData {
  addressSpace?: string;
  pool: string;
  gateway?: string;
  auxAddresses?: Record<string, string>;
}

export interface EndpointInterface {
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

/** Optional: drivers that publish ports / program NAT for an endpoint. */
export interface ExternalConnectivity {
  programExternalConnectivity(networkId: string, endpointId: string, options: Record<string, unknown>): Promise<void>;
  revokeExternalConnectivity(networkId: string, endpointId: string): Promise<void>;
}

export function hasExternalConnectivity(d: NetworkDriver): d is NetworkDriver & ExternalConnectivity {
  return typeof (d as Partial<ExternalConnectivity>).programExternalConnectivity === 'function';
}
