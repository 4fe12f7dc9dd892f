import { randomBytes } from 'node:crypto';
import {
  InvalidParameterError,
  NotFoundError,
  errorMessage,
  type EndpointInterface,
  type EndpointRestore,
  type ExternalConnectivity,
  type IpamData,
  type JoinInfo,
  type Logger,
  type NetworkDriver,
  type PortBinding,
} from '../../kernel/index.js';
import { deleteBridge, ensureBridge, plugVeth, unplugVeth } from './bridge-link.js';
import { Firewall } from './firewall.js';
import type { BridgeRuleInput, PortRuleInput } from './iptables-rules.js';
import { bindPort, type BoundPort } from './port-allocator.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_INTERNAL = 'com.docker.network.internal';

interface BridgeNetwork {
  id: string;
  bridge: string;
  subnet: string;
  gateway: string;
  mtu: number;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  hostBindingIp: string;
}

interface Endpoint {
  networkId: string;
  ip: string;
  cidr: string;
  mac: string;
  hostIfName?: string;
  ports: BoundPort[];
}

export interface BridgeDriverOptions {
  /** Chain prefix of this daemon's iptables rules; undefined = `iptables: false`. */
  chainPrefix?: string;
  defaultMtu: number;
  /** daemon.json `userland-proxy` (default true); false = dockerd's hairpin mode (DNAT from loopback, no proxy). */
  userlandProxy?: boolean;
  log: Logger;
}

/**
 * libnetwork's bridge driver: one Linux bridge per network (gateway address
 * on it), a veth pair per endpoint, masquerading, inter-bridge isolation and
 * published ports (DNAT + the userland proxy). State is held in memory; the
 * network service re-creates networks at every start and hands back the
 * endpoints of containers that lived through a restart.
 */
export class BridgeDriver implements NetworkDriver, ExternalConnectivity, EndpointRestore {
  readonly type = 'bridge';
  readonly scope = 'local' as const;
  readonly createsSandbox = true;
  private readonly networks = new Map<string, BridgeNetwork>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly firewall?: Firewall;
  private get proxy(): boolean { return this.opts.userlandProxy !== false; }

  constructor(private readonly opts: BridgeDriverOptions) {
    if (opts.chainPrefix) this.firewall = new Firewall(opts.chainPrefix, opts.log, { hairpin: !this.proxy });
  }

  /** Start: rules a killed daemon left behind go before any new one is written. */
  async init(): Promise<void> {
    await this.firewall?.clear();
  }

  async createNetwork(id: string, options: Record<string, string>, ipv4: IpamData[]): Promise<void> {
    const pool = ipv4[0];
    if (!pool?.gateway) throw new InvalidParameterError('bridge networks need an IPv4 subnet with a gateway');
    const bridge = options[OPT_BRIDGE_NAME] || `br-${id.slice(0, 12)}`;
    if (bridge.length > 15) throw new InvalidParameterError(`bridge name ${bridge} is longer than 15 characters`);
    for (const n of this.networks.values()) {
      if (n.id !== id && n.bridge === bridge) throw new InvalidParameterError(`bridge name ${bridge} is already in use by network ${n.id}`);
    }
    const mtu = options[OPT_MTU] ? Number(options[OPT_MTU]) : this.opts.defaultMtu;
    if (!Number.isInteger(mtu) || mtu < 68) throw new InvalidParameterError(`invalid MTU number: ${options[OPT_MTU]}`);
    const net: BridgeNetwork = {
      id,
      bridge,
      subnet: pool.pool,
      gateway: pool.gateway,
      mtu,
      icc: options[OPT_ICC] !== 'false',
      masquerade: options[OPT_MASQ] !== 'false',
      internal: options[OPT_INTERNAL] === 'true',
      hostBindingIp: options[OPT_HOST_BINDING] || '',
    };
    await ensureBridge(bridge, pool.gateway, mtu, { routeLocalnet: !this.proxy });
    this.networks.set(id, net);
    await this.program();
  }

  async deleteNetwork(id: string): Promise<void> {
    const net = this.networks.get(id);
    if (!net) return;
    this.networks.delete(id);
    await deleteBridge(net.bridge);
    await this.program();
  }

  async createEndpoint(networkId: string, endpointId: string, iface: EndpointInterface): Promise<void> {
    this.network(networkId);
    if (!iface.address || !iface.macAddress) throw new InvalidParameterError('bridge endpoints need an IPv4 address and a MAC address');
    this.endpoints.set(endpointId, { networkId, ip: iface.address.split('/')[0]!, cidr: iface.address, mac: iface.macAddress, ports: [] });
  }

  async deleteEndpoint(_networkId: string, endpointId: string): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (ep?.hostIfName) await unplugVeth(ep.hostIfName);
    this.endpoints.delete(endpointId);
  }


  async endpointInfo(_networkId: string, endpointId: string): Promise<Record<string, unknown>> {
    const ep = this.endpoints.get(endpointId);
    return ep ? { hostIfName: ep.hostIfName, macAddress: ep.mac } : {};
  }

  async join(networkId: string, endpointId: string, sandboxKey: string, info: JoinInfo, options: { ifName: string; defaultRoute: boolean; createSandbox?: boolean }): Promise<void> {
    const net = this.network(networkId);
    const ep = this.endpoint(endpointId);
    const hostIfName = `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
    const gateway = net.internal ? undefined : net.gateway.split('/')[0];
    await plugVeth({
      sandboxKey, ifName: options.ifName, hostIfName, macAddress: ep.mac, addressCidr: ep.cidr,
      gateway: options.defaultRoute ? gateway : undefined, mtu: net.mtu, bridge: net.bridge, createSandbox: options.createSandbox === true, hairpin: !this.proxy,
    });
    ep.hostIfName = hostIfName;
    if (gateway) info.setGateway(gateway);
  }

  async leave(_networkId: string, endpointId: string, options: { sandboxGone?: boolean } = {}): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    // A veth dies with its namespace: deleting it by hand would only cost a process per container stop.
    if (ep?.hostIfName && !options.sandboxGone) await unplugVeth(ep.hostIfName);
    if (ep) ep.hostIfName = undefined;
  }

  async programExternalConnectivity(networkId: string, endpointId: string, options: { portBindings: PortBinding[] }): Promise<PortBinding[]> {
    const net = this.network(networkId);
    const ep = this.endpoint(endpointId);
    if (net.internal || options.portBindings.length === 0) return [];
    try {
      for (const b of options.portBindings) {
        ep.ports.push(...(await bindPort({ ...b, hostIp: b.hostIp || net.hostBindingIp.replace(/^0\.0\.0\.0$/, '') }, { host: ep.ip }, { proxy: this.proxy })));
      }
      await this.program();
    } catch (err) {
      await this.revokeExternalConnectivity(networkId, endpointId);
      throw new InvalidParameterError(`driver failed programming external connectivity on endpoint (${endpointId}): ${errorMessage(err)}`);
    }
    return ep.ports.map((p) => p.binding);
  }

  async revokeExternalConnectivity(_networkId: string, endpointId: string): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (!ep || ep.ports.length === 0) return;
    const ports = ep.ports;
    ep.ports = [];
    await Promise.all(ports.map((p) => p.proxy.close()));
    await this.program();
  }

  async restoreEndpoint(networkId: string, endpointId: string, iface: EndpointInterface, state: { hostIfName?: string; portBindings: PortBinding[] }): Promise<void> {
    await this.createEndpoint(networkId, endpointId, iface);
    const ep = this.endpoint(endpointId);
    ep.hostIfName = state.hostIfName;
    for (const b of state.portBindings) {
      ep.ports.push(...(await bindPort(b, { host: ep.ip }, { proxy: this.proxy }).catch((err: unknown) => {
        this.opts.log.warn('cannot publish a port again after a restart', { endpoint: endpointId, port: b.hostPort, error: err });
        return [];
      })));
    }
    await this.program();
  }

  async dispose(): Promise<void> {
    for (const ep of this.endpoints.values()) await Promise.all(ep.ports.splice(0).map((p) => p.proxy.close()));
    await this.firewall?.clear().catch((err: unknown) => this.opts.log.warn('cannot remove iptables rules', { error: err }));
    const inUse = new Set([...this.endpoints.values()].filter((e) => e.hostIfName).map((e) => e.networkId));
    for (const net of this.networks.values()) if (!inUse.has(net.id)) await deleteBridge(net.bridge);
    this.networks.clear();
  }

  private network(id: string): BridgeNetwork {
    const n = this.networks.get(id);
    if (!n) throw new NotFoundError(`network ${id} not found`);
    return n;
  }

  private endpoint(id: string): Endpoint {
    const e = this.endpoints.get(id);
    if (!e) throw new NotFoundError(`endpoint ${id} not found`);
    return e;
  }

  private async program(): Promise<void> {
    if (!this.firewall) return;
    const bridges: BridgeRuleInput[] = [...this.networks.values()].map((n) => ({ bridge: n.bridge, subnet: n.subnet, icc: n.icc, masquerade: n.masquerade, internal: n.internal }));
    const ports: PortRuleInput[] = [];
    for (const ep of this.endpoints.values()) {
      const net = this.networks.get(ep.networkId);
      if (!net) continue;
      for (const p of ep.ports) {
        if (p.binding.hostIp.includes(':')) continue;
        ports.push({ bridge: net.bridge, proto: p.binding.proto, hostIp: p.binding.hostIp, hostPort: p.binding.hostPort, containerIp: ep.ip, containerPort: p.binding.containerPort });
      }
    }
    await this.firewall.apply(bridges, ports);
  }
}
