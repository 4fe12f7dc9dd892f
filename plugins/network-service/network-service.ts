import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  ConflictError,
  ExtensionPoint,
  ForbiddenError,
  InvalidParameterError,
  NotFoundError,
  NotImplementedError,
  dockerEvent,
  randomHexId,
  type ContainerRecord,
  type DaemonConfig,
  type EndpointRequest,
  type EventBus,
  type IpamConfig,
  type Logger,
  type NetworkCreateRequest,
  type NetworkDriver,
  type NetworkFilterArgs,
  type NetworkResource,
  type NetworkService,
  type NetworkSettings,
  type PluginHost,
  type PortBinding,
  type SandboxAttachment,
  SystemError,
  type ContainerService,
} from '../../kernel/index.js';
import { hasEndpointRestore, hasExternalConnectivity } from '../../kernel/index.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { chooseSubnet, DOCKER_DEFAULT_POOLS, firstHost, formatPrefix, hostRoutes } from './address-pools.js';
import { defaultBridgeSpec, type DefaultBridgeSpec } from './default-bridge.js';
import { EmbeddedDns } from './embedded-dns.js';
import { addHostsEntry, removeHostsEntry } from './etc-hosts.js';
import { AddressPool } from './ipam.js';
import { mustCidr, overlaps, parseIp, type Prefix } from './ipv4.js';
import { JsonStore } from './json-store.js';
import { linkEnv, parseLink } from './links.js';
import { macFromIp, parseMac } from './mac.js';
import { matchNetwork, validateFilters } from './network-filters.js';
import { networkResource, networkSettings, nowRfc3339Nano } from './network-view.js';
import { createNetns, netnsFile, NetnsReaper } from './netns.js';
import { containerPortBindings } from './port-spec.js';
import { hostDriver, nullDriver } from './predefined-drivers.js';
import type { ContainerNetState, EndpointRecord, NetworkRecord } from './records.js';

export interface NetworkServiceDeps {
  dataRoot: string;
  execRoot: string;
  host: PluginHost;
  events: EventBus;
  log: Logger;
  daemon(): Readonly<DaemonConfig>;
  /** Name of the default bridge when daemon.json `bridge` is unset (dockerd: docker0). */
  defaultBridgeName: string;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

/**
 * libnetwork's controller: networks (predefined and user-defined) over the
 * network drivers, IPAM, and one sandbox per started container with an
 * endpoint per network. What must survive a restart is on disk: networks,
 * and each running container's sandbox with its endpoints and addresses.
 */
export class LocalNetworkService implements NetworkService {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly pools = new Map<string, AddressPool>();
  private readonly states = new Map<string, ContainerNetState>();
  private readonly netStore: JsonStore<NetworkRecord>;
  private readonly stateStore: JsonStore<ContainerNetState>;
  private readonly locks = new KeyedMutex();
  private readonly reaper = new NetnsReaper();
  readonly dns: EmbeddedDns;

  private constructor(private readonly deps: NetworkServiceDeps) {
    this.netStore = new JsonStore(join(deps.dataRoot, 'network', 'networks'), deps.log);
    this.stateStore = new JsonStore(join(deps.dataRoot, 'network', 'containers'), deps.log, false);
    this.dns = new EmbeddedDns(deps.log, (sandboxId, name) => this.lookup(sandboxId, name));
  }

  static async open(deps: NetworkServiceDeps): Promise<LocalNetworkService> {
    const svc = new LocalNetworkService(deps);
    for (const n of await svc.netStore.loadAll()) svc.networks.set(n.Id, n);
    for (const s of await svc.stateStore.loadAll()) svc.states.set(s.ContainerID, s);
    return svc;
  }

  /** Plugin start: predefined networks, then every network programmed again on its driver; addresses of sandboxes reserved. */
  async start(): Promise<void> {
    await this.ensurePredefined();
    for (const n of [...this.networks.values()]) {
      try {
        if (n.IPAM.Config[0]?.Subnet) this.poolOf(n);
        await this.driverOf(n.Driver).createNetwork(n.Id, this.driverOptions(n), this.ipamData(n), []);
      } catch (err) {
        this.deps.log.error('cannot set up network', { network: n.Name, error: err });
      }
    }
    for (const s of this.states.values()) {
      for (const ep of s.Sandbox?.Endpoints ?? []) {
        const pool = this.pools.get(ep.NetworkID);
        if (pool && ep.IPAddress) pool.reserve(ep.IPAddress);
      }
    }
    // Namespaces no sandbox holds: a removal (or a start) interrupted by a kill -9.
    const held = new Set([...this.states.values()].flatMap((s) => (s.Sandbox ? [s.Sandbox.Key] : [])));
    await this.reaper.sweep(join(this.deps.execRoot, 'netns'), held).catch((err: unknown) => this.deps.log.warn('cannot remove stale network namespaces', { error: err }));
  }

  async stop(): Promise<void> {
    await this.dns.closeAll();
    await this.reaper.drain();
    for (const d of this.allDrivers().values()) await d.dispose().catch((err: unknown) => this.deps.log.warn('network driver shutdown failed', { driver: d.type, error: err }));
  }

  async dispose(): Promise<void> {
    await this.stop();
  }

  drivers(): string[] {
    return [...this.allDrivers().keys()].sort();
  }

  // ---- networks --------------------------------------------------------

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.locks.run('networks', async () => {
      const name = req.Name ?? '';
      if (!name) throw new InvalidParameterError('invalid network name: name is empty');
      if (PREDEFINED.has(name)) throw new ForbiddenError(`operation is not permitted on predefined ${name} network `);
      if ([...this.networks.values()].some((n) => n.Name === name)) throw new ConflictError(`network with name ${name} already exists`);
      const driverName = req.Driver || 'bridge';
      if (driverName === 'host' || driverName === 'null') throw new ForbiddenError(`only one instance of "${driverName}" network is allowed`);
      const driver = this.allDrivers().get(driverName);
      if (!driver) throw new NotFoundError(`plugin "${driverName}" not found`);
      const ipamDriver = req.IPAM?.Driver || 'default';
      if (ipamDriver !== 'default') throw new NotFoundError(`plugin "${ipamDriver}" not found`);
      if (req.EnableIPv6) throw new NotImplementedError('IPv6 networks are not supported by berthd yet');
      if (req.ConfigOnly || req.ConfigFrom?.Network || req.Ingress) throw new NotImplementedError('config-only, config-from and ingress networks are swarm features berthd does not support');
      const userConfigs = (req.IPAM?.Config ?? []).filter((c) => c.Subnet || c.Gateway || c.IPRange);
      if (userConfigs.length > 1) throw new NotImplementedError('berthd supports one IPv4 subnet per network');
      const config = this.ipamConfig(userConfigs[0]);
      const rec: NetworkRecord = {
        Id: randomBytes(32).toString('hex'),
        Name: name,
        Created: nowRfc3339Nano(),
        Driver: driverName,
        Internal: req.Internal === true,
        Attachable: req.Attachable === true,
        EnableIPv6: false,
        IPAM: { Driver: ipamDriver, Options: req.IPAM?.Options ?? {}, Config: [config] },
        Options: { ...(req.Options ?? {}) },
        Labels: { ...(req.Labels ?? {}) },
        UserSubnet: userConfigs.length > 0,
      };
      this.poolOf(rec);
      try {
        await driver.createNetwork(rec.Id, this.driverOptions(rec), this.ipamData(rec), []);
        await this.netStore.save(rec.Id, rec);
      } catch (err) {
        this.pools.delete(rec.Id);
        await driver.deleteNetwork(rec.Id).catch(() => undefined);
        await this.netStore.delete(rec.Id);
        throw err;
      }
      this.networks.set(rec.Id, rec);
      this.emit('create', rec);
      return { Id: rec.Id, Warning: '' };
    });
  }

  async inspect(ref: string): Promise<NetworkResource> {
    const n = this.find(ref);
    return networkResource(n, this.attached(n.Id));
  }

  async list(filters: NetworkFilterArgs = {}): Promise<NetworkResource[]> {
    validateFilters(filters);
    return [...this.networks.values()]
      .filter((n) => matchNetwork(n, filters, this.attached(n.Id).length > 0))
      .sort((a, b) => a.Name.localeCompare(b.Name))
      .map((n) => networkResource(n, undefined));
  }

  async remove(ref: string): Promise<void> {
    const n = this.find(ref);
    await this.locks.run('networks', () => this.removeLocked(n));
  }

  async prune(filters: NetworkFilterArgs = {}): Promise<{ NetworksDeleted: string[] | null }> {
    const deleted: string[] = [];
    await this.locks.run('networks', async () => {
      for (const n of [...this.networks.values()]) {
        if (n.Predefined || this.attached(n.Id).length > 0) continue;
        if (!matchNetwork(n, filters, false, true)) continue;
        await this.removeLocked(n).then(() => deleted.push(n.Name), (err: unknown) => this.deps.log.warn('cannot prune network', { network: n.Name, error: err }));
      }
    });
    this.deps.events.emit('docker.event', dockerEvent('network', 'prune', '', { reclaimed: '0' }));
    return { NetworksDeleted: deleted.length ? deleted : null };
  }

  private async removeLocked(n: NetworkRecord): Promise<void> {
    if (n.Predefined) throw new ForbiddenError(`${n.Name} is a pre-defined network and cannot be removed`);
    const users = this.attached(n.Id);
    if (users.length > 0) throw new ForbiddenError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
    await this.driverOf(n.Driver).deleteNetwork(n.Id);
    await this.netStore.delete(n.Id);
    this.networks.delete(n.Id);
    this.pools.delete(n.Id);
    this.emit('destroy', n);
  }

  // ---- containers ------------------------------------------------------

  async connect(ref: string, c: ContainerRecord, req: EndpointRequest): Promise<void> {
    const n = this.find(ref);
    await this.locks.run(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode ?? 'default';
      if (n.Name === 'host' || n.Name === 'none' || mode === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
      if (mode === 'none' || mode.startsWith('container:')) throw new ForbiddenError('container sharing network namespace with another container or host cannot be connected to any other network');
      const state = this.stateOf(c.Id);
      const sb = state.Sandbox;
      const already = sb ? sb.Endpoints.some((e) => e.NetworkID === n.Id) : this.configuredNetworks(c).some((x) => x.id === n.Id);
      if (already) throw new ForbiddenError(`endpoint with name ${c.Name.slice(1)} already exists in network ${n.Name}`);
      this.checkStaticIp(n, req);
      if (sb && c.State.Running) {
        const ep = await this.join(c, sb.Key, sb.ID, n, req, `eth${nextIfIndex(sb.Endpoints)}`, false, sb.Endpoints.length === 0, false);
        sb.Endpoints.push(ep);
        await this.saveState(state);
        await addHostsEntry(sb.HostsPath, ep.IPAddress, [c.Config.Hostname || c.Id.slice(0, 12)]).catch(() => undefined);
        this.emit('connect', n, { container: c.Id });
        return;
      }
      state.Disconnected = state.Disconnected.filter((x) => x !== n.Name && x !== n.Id);
      state.Connected[n.Name] = { ...req };
      await this.saveState(state);
    });
  }

  async disconnect(ref: string, c: ContainerRecord, _force: boolean): Promise<void> {
    const n = this.find(ref);
    await this.locks.run(c.Id, async () => {
      const mode = c.HostConfig.NetworkMode ?? 'default';
      if (n.Name === 'host' || mode === 'host') throw new ForbiddenError('container cannot be disconnected from host network or connected to host network');
      const state = this.stateOf(c.Id);
      const sb = state.Sandbox;
      if (sb && c.State.Running) {
        const ep = sb.Endpoints.find((e) => e.NetworkID === n.Id);
        if (!ep) throw new ForbiddenError(`container ${c.Id} is not connected to network ${n.Name}`);
        await this.leave(ep);
        sb.Endpoints = sb.Endpoints.filter((e) => e !== ep);
        this.forgetConfigured(state, c, n);
        await this.saveState(state);
        await removeHostsEntry(sb.HostsPath, ep.IPAddress).catch(() => undefined);
        this.emit('disconnect', n, { container: c.Id });
        return;
      }
      if (!this.configuredNetworks(c).some((x) => x.id === n.Id)) throw new ForbiddenError(`container ${c.Id} is not connected to network ${n.Name}`);
      this.forgetConfigured(state, c, n);
      await this.saveState(state);
    });
  }

  async attach(c: ContainerRecord, paths: { hostsPath: string }): Promise<SandboxAttachment> {
    return this.locks.run(c.Id, async () => {
      const wanted = this.configuredNetworks(c);
      if (wanted.length === 0 || wanted[0]!.net.Name === 'none' || wanted[0]!.net.Name === 'host') return { etc: { hosts: [] } };
      for (const w of wanted) if (!w.net.Predefined || w.net.Name === 'bridge') this.checkStaticIp(w.net, w.req);
      const state = this.stateOf(c.Id);
      if (state.Sandbox) await this.release(state); // a sandbox left by a crash
      const sandboxId = randomBytes(32).toString('hex');
      const key = await netnsFile(join(this.deps.execRoot, 'netns'), sandboxId.slice(0, 12));
      state.Sandbox = { ID: sandboxId, Key: key, Endpoints: [], EmbeddedDns: false, ExtServers: extServers(c, this.deps.daemon()), ContainerName: c.Name.replace(/^\//, ''), HostsPath: paths.hostsPath };
      try {
        // Written before anything else is taken, so a crash from here on is cleaned up at the next start.
        await this.saveState(state);
        const bridges = wanted.filter((w) => w.net.Name !== 'none' && w.net.Name !== 'host');
        let gatewaySet = false;
        let created = false;
        for (const [i, w] of bridges.entries()) {
          const defaultRoute = !gatewaySet && !w.net.Internal;
          // A driver that can make the namespace while plugging its first interface saves a process per start.
          const createSandbox = !created && this.driverOf(w.net.Driver).createsSandbox === true;
          if (!created && !createSandbox) await createNetns(key);
          created = true;
          const ep = await this.join(c, key, sandboxId, w.net, w.req, `eth${i}`, defaultRoute, defaultRoute, createSandbox);
          if (defaultRoute) gatewaySet = true;
          state.Sandbox.Endpoints.push(ep);
        }
        if (!created) await createNetns(key);
        state.Sandbox.EmbeddedDns = bridges.some((w) => this.isUserNetwork(w.net));
        if (state.Sandbox.EmbeddedDns) await this.dns.open(sandboxId, key, state.Sandbox.ExtServers);
        await this.saveState(state);
      } catch (err) {
        await this.release(state);
        throw err;
      }
      let links: { env: string[]; hosts: Array<{ ip: string; names: string[] }> };
      try {
        links = await this.legacyLinks(c, state.Sandbox.Endpoints);
      } catch (err) {
        await this.release(state);
        throw err;
      }
      for (const ep of state.Sandbox.Endpoints) this.emit('connect', this.networks.get(ep.NetworkID)!, { container: c.Id });
      const hostname = c.Config.Hostname || c.Id.slice(0, 12);
      return {
        key,
        ...(links.env.length ? { env: links.env } : {}),
        etc: {
          hosts: [...links.hosts, ...state.Sandbox.Endpoints.slice(0, 1).map((ep) => ({ ip: ep.IPAddress, names: [c.Config.Domainname ? `${hostname}.${c.Config.Domainname}` : '', hostname].filter(Boolean) }))],
          embeddedDns: state.Sandbox.EmbeddedDns ? { nameserver: '127.0.0.11', extServers: state.Sandbox.ExtServers } : undefined,
        },
      };
    });
  }

  async detach(containerId: string): Promise<void> {
    await this.locks.run(containerId, async () => {
      const state = this.states.get(containerId);
      if (state?.Sandbox) await this.release(state);
    });
  }

  async forget(containerId: string): Promise<void> {
    await this.detach(containerId);
    await this.locks.run(containerId, async () => {
      this.states.delete(containerId);
      await this.stateStore.delete(containerId);
    });
  }

  async reconcile(live: string[]): Promise<void> {
    const keep = new Set(live);
    for (const s of [...this.states.values()]) {
      if (!s.Sandbox) continue;
      if (!keep.has(s.ContainerID)) {
        await this.locks.run(s.ContainerID, () => this.release(s)).catch((err: unknown) => this.deps.log.warn('cannot release a stale sandbox', { container: s.ContainerID, error: err }));
        continue;
      }
      for (const ep of s.Sandbox.Endpoints) {
        const n = this.networks.get(ep.NetworkID);
        const d = n && this.allDrivers().get(n.Driver);
        if (d && hasEndpointRestore(d)) {
          await d.restoreEndpoint(ep.NetworkID, ep.EndpointID, { address: `${ep.IPAddress}/${ep.IPPrefixLen}`, macAddress: ep.MacAddress }, { hostIfName: ep.Driver.hostIfName as string | undefined, portBindings: ep.Ports })
            .catch((err: unknown) => this.deps.log.warn('cannot restore an endpoint', { container: s.ContainerID, error: err }));
        }
      }
      if (s.Sandbox.EmbeddedDns) await this.dns.open(s.Sandbox.ID, s.Sandbox.Key, s.Sandbox.ExtServers).catch((err: unknown) => this.deps.log.warn('cannot restore the embedded DNS', { container: s.ContainerID, error: err }));
    }
  }

  settings(c: ContainerRecord): NetworkSettings {
    const state = this.states.get(c.Id);
    const configured = this.configuredNetworks(c, true).map((w) => ({ name: w.net.Name, id: w.net.Id, req: w.req }));
    return networkSettings(c, c.State.Running ? state : undefined, configured);
  }

  containerNetworks(containerId: string): Array<{ id: string; name: string }> {
    return (this.states.get(containerId)?.Sandbox?.Endpoints ?? []).map((e) => ({ id: e.NetworkID, name: e.NetworkName }));
  }

  // ---- internals -------------------------------------------------------

  /**
   * dockerd's setupLinkedContainers: `--link` on the default bridge gives
   * variables and an /etc/hosts entry (alias, hostname, name) for each
   * linked container, which must be running on the default bridge too. On
   * user-defined networks links are resolved by the embedded DNS instead.
   */
  private async legacyLinks(c: ContainerRecord, eps: EndpointRecord[]): Promise<{ env: string[]; hosts: Array<{ ip: string; names: string[] }> }> {
    const out = { env: [] as string[], hosts: [] as Array<{ ip: string; names: string[] }> };
    const specs = ((c.HostConfig as { Links?: string[] | null }).Links ?? []).filter(Boolean);
    const bridge = this.byName('bridge');
    if (specs.length === 0 || !bridge || !eps.some((e) => e.NetworkID === bridge.Id)) return out;
    const containers = this.deps.host.tryCurrent<ContainerService>(ExtensionPoint.ContainerService);
    if (!containers) return out;
    const parent = c.Name.replace(/^\//, '');
    for (const spec of specs) {
      const { name, alias } = parseLink(spec);
      const child = await containers.get(name).catch(() => {
        throw new InvalidParameterError(`could not get container for ${name}: No such container: ${name}`);
      });
      const linkName = `/${parent}/${alias}`;
      if (!child.State.Running) throw new SystemError(`Cannot link to a non running container: ${child.Name} AS ${linkName}`);
      const ep = this.states.get(child.Id)?.Sandbox?.Endpoints.find((e) => e.NetworkID === bridge.Id);
      if (!ep) throw new SystemError(`container ${child.Id} not attached to default bridge network`);
      out.env.push(...linkEnv(linkName, ep.IPAddress, child.Config.Env ?? undefined, child.Config.ExposedPorts as Record<string, unknown> | undefined));
      const childName = child.Name.replace(/^\//, '');
      out.hosts.push({ ip: ep.IPAddress, names: [alias, child.Config.Hostname || child.Id.slice(0, 12), ...(alias !== childName ? [childName] : [])] });
    }
    return out;
  }

  /** The networks a container is (to be) connected to, its NetworkMode first, as dockerd orders them. */
  private configuredNetworks(c: ContainerRecord, lenient = false): Array<{ net: NetworkRecord; req: EndpointRequest; id: string }> {
    const mode = c.HostConfig.NetworkMode || 'default';
    if (mode.startsWith('container:')) return [];
    const state = this.states.get(c.Id);
    const eps = (c.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, EndpointRequest | null>;
    const out: Array<{ net: NetworkRecord; req: EndpointRequest; id: string }> = [];
    const seen = new Set<string>();
    const add = (ref: string, req: EndpointRequest | null | undefined) => {
      let net: NetworkRecord | undefined;
      try {
        net = this.find(ref);
      } catch (err) {
        if (lenient) return;
        throw err;
      }
      if (seen.has(net.Id) || state?.Disconnected.includes(net.Name) || state?.Disconnected.includes(net.Id)) return;
      seen.add(net.Id);
      out.push({ net, req: req ?? {}, id: net.Id });
    };
    if (mode === 'default') {
      // No default bridge (`"bridge": "none"`): the container gets loopback only, as under dockerd.
      if (!this.byName('bridge')) return [];
      add('bridge', eps['default'] ?? eps['bridge']);
    } else {
      add(mode, eps[mode] ?? Object.entries(eps).find(([k]) => this.byName(k)?.Id === this.tryFind(mode)?.Id)?.[1]);
    }
    for (const [k, req] of Object.entries(eps)) if (k !== 'default') add(k, req);
    for (const [k, req] of Object.entries(state?.Connected ?? {})) add(k, req);
    return out;
  }

  private forgetConfigured(state: ContainerNetState, c: ContainerRecord, n: NetworkRecord): void {
    delete state.Connected[n.Name];
    if (!state.Disconnected.includes(n.Name)) state.Disconnected.push(n.Name);
    void c;
  }

  private async join(c: ContainerRecord, key: string, sandboxId: string, n: NetworkRecord, req: EndpointRequest, ifName: string, defaultRoute: boolean, publish: boolean, createSandbox: boolean): Promise<EndpointRecord> {
    const driver = this.driverOf(n.Driver);
    const pool = this.poolOf(n);
    const ip = pool.allocate(req.IPAMConfig?.IPv4Address || undefined);
    const endpointId = randomBytes(32).toString('hex');
    const prefixLen = pool.subnet.bits;
    const legacyMac = n.Name === (c.HostConfig.NetworkMode === 'default' ? 'bridge' : c.HostConfig.NetworkMode) ? (c.Config as { MacAddress?: string }).MacAddress : undefined;
    const mac = req.MacAddress || legacyMac ? parseMac((req.MacAddress || legacyMac)!) : macFromIp(ip);
    let gateway = '';
    let created = false;
    let joined = false;
    try {
      await driver.createEndpoint(n.Id, endpointId, { address: `${ip}/${prefixLen}`, macAddress: mac }, {});
      created = true;
      await driver.join(n.Id, endpointId, key, { setGateway: (g) => { gateway = g; }, setGatewayIPv6: () => undefined, addStaticRoute: () => undefined, setInterfaceName: () => undefined }, { ifName, defaultRoute, ...(createSandbox ? { createSandbox } : {}) });
      joined = true;
      let ports: PortBinding[] = [];
      if (publish && hasExternalConnectivity(driver)) ports = await driver.programExternalConnectivity(n.Id, endpointId, { portBindings: containerPortBindings(c) });
      const user = this.isUserNetwork(n);
      const aliases = req.Aliases?.length ? [...req.Aliases] : null;
      return {
        EndpointID: endpointId,
        NetworkID: n.Id,
        NetworkName: n.Name,
        IfName: ifName,
        IPAddress: ip,
        IPPrefixLen: prefixLen,
        Gateway: gateway,
        MacAddress: mac,
        Aliases: aliases,
        ...(user && req.Links?.length ? { Links: [...req.Links] } : {}),
        IPAMConfig: req.IPAMConfig ?? null,
        DriverOpts: req.DriverOpts ?? null,
        DNSNames: user ? dnsNames(c, aliases ?? []) : null,
        Driver: await driver.endpointInfo(n.Id, endpointId),
        Ports: ports,
      };
    } catch (err) {
      if (joined) await driver.leave(n.Id, endpointId).catch(() => undefined);
      if (created) await driver.deleteEndpoint(n.Id, endpointId).catch(() => undefined);
      pool.release(ip);
      void sandboxId;
      throw err;
    }
  }

  /** `sandboxGone`: the namespace is being destroyed, and every interface in it with it. */
  private async leave(ep: EndpointRecord, sandboxGone = false): Promise<void> {
    const n = this.networks.get(ep.NetworkID);
    const driver = n ? this.allDrivers().get(n.Driver) : undefined;
    if (driver) {
      if (hasExternalConnectivity(driver) && ep.Ports.length > 0) await driver.revokeExternalConnectivity(ep.NetworkID, ep.EndpointID).catch((err: unknown) => this.deps.log.warn('cannot revoke published ports', { error: err }));
      await driver.leave(ep.NetworkID, ep.EndpointID, { sandboxGone }).catch((err: unknown) => this.deps.log.warn('cannot leave a network', { error: err }));
      await driver.deleteEndpoint(ep.NetworkID, ep.EndpointID).catch((err: unknown) => this.deps.log.warn('cannot delete an endpoint', { error: err }));
    }
    this.pools.get(ep.NetworkID)?.release(ep.IPAddress);
  }

  /** Everything a sandbox holds, given back: ports, endpoints, addresses, DNS listener, namespace. */
  private async release(state: ContainerNetState): Promise<void> {
    const sb = state.Sandbox;
    if (!sb) return;
    await this.dns.close(sb.ID);
    for (const ep of sb.Endpoints) {
      await this.leave(ep, true);
      const n = this.networks.get(ep.NetworkID);
      if (n) this.emit('disconnect', n, { container: state.ContainerID });
    }
    this.reaper.remove(sb.Key);
    state.Sandbox = undefined;
    await this.saveState(state);
  }

  private stateOf(id: string): ContainerNetState {
    let s = this.states.get(id);
    if (!s) {
      s = { ContainerID: id, Connected: {}, Disconnected: [] };
      this.states.set(id, s);
    }
    return s;
  }

  private async saveState(s: ContainerNetState): Promise<void> {
    if (!s.Sandbox && Object.keys(s.Connected).length === 0 && s.Disconnected.length === 0) {
      await this.stateStore.delete(s.ContainerID);
      return;
    }
    await this.stateStore.save(s.ContainerID, s);
  }

  /** Containers with a live endpoint on the network. */
  private attached(networkId: string): Array<{ containerId: string; name: string; ep: EndpointRecord }> {
    const out: Array<{ containerId: string; name: string; ep: EndpointRecord }> = [];
    for (const s of this.states.values()) {
      for (const ep of s.Sandbox?.Endpoints ?? []) if (ep.NetworkID === networkId) out.push({ containerId: s.ContainerID, name: s.Sandbox!.ContainerName, ep });
    }
    return out;
  }

  /** The embedded DNS's view: names on the asking sandbox's user-defined networks. */
  private lookup(sandboxId: string, name: string): string[] | undefined {
    const asking = [...this.states.values()].find((s) => s.Sandbox?.ID === sandboxId);
    if (!asking?.Sandbox) return undefined;
    const q = name.toLowerCase().replace(/\.$/, '');
    const found: string[] = [];
    for (const mine of asking.Sandbox.Endpoints) {
      const n = this.networks.get(mine.NetworkID);
      if (!n || !this.isUserNetwork(n)) continue;
      // This container's links on the network: the alias stands for the linked container's name.
      const link = (mine.Links ?? []).map(parseLink).find((l) => l.alias.toLowerCase() === q);
      const want = link ? link.name.toLowerCase() : q;
      for (const s of this.states.values()) {
        for (const ep of s.Sandbox?.Endpoints ?? []) {
          if (ep.NetworkID !== n.Id || !ep.DNSNames) continue;
          const names = ep.DNSNames.map((x) => x.toLowerCase());
          if (names.includes(want) || names.some((x) => `${x}.${n.Name.toLowerCase()}` === want)) found.push(ep.IPAddress);
        }
      }
    }
    return found.length ? [...new Set(found)] : undefined;
  }

  private isUserNetwork(n: NetworkRecord): boolean {
    return !n.Predefined && n.Driver === 'bridge';
  }

  private checkStaticIp(n: NetworkRecord, req: EndpointRequest): void {
    if (req.IPAMConfig?.IPv4Address && !n.UserSubnet) throw new ForbiddenError('user specified IP address is supported only when connecting to networks with user configured subnets');
    if (req.IPAMConfig?.IPv4Address && parseIp(req.IPAMConfig.IPv4Address) === undefined) throw new InvalidParameterError(`invalid IPv4 address: ${req.IPAMConfig.IPv4Address}`);
  }

  find(ref: string): NetworkRecord {
    const n = this.tryFind(ref);
    if (!n) throw new NotFoundError(`network ${ref} not found`);
    return n;
  }

  private tryFind(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const byName = this.byName(ref);
    if (byName) return byName;
    if (!ref) return undefined;
    const prefixed = [...this.networks.values()].filter((n) => n.Id.startsWith(ref));
    if (prefixed.length > 1) throw new InvalidParameterError(`network ${ref} is ambiguous (${prefixed.length} matches found on name)`);
    return prefixed[0];
  }

  private byName(name: string): NetworkRecord | undefined {
    return [...this.networks.values()].find((n) => n.Name === name);
  }

  private allDrivers(): Map<string, NetworkDriver> {
    const out = new Map<string, NetworkDriver>([['host', hostDriver], ['null', nullDriver]]);
    for (const [name, d] of this.deps.host.all<NetworkDriver>(ExtensionPoint.NetworkDriver)) out.set(name, d);
    return out;
  }

  private driverOf(name: string): NetworkDriver {
    const d = this.allDrivers().get(name);
    if (!d) throw new NotFoundError(`could not find plugin ${name} in v1 plugin registry: plugin not found`);
    return d;
  }

  private poolOf(n: NetworkRecord): AddressPool {
    let p = this.pools.get(n.Id);
    const cfg = n.IPAM.Config[0];
    if (!p && cfg?.Subnet && cfg.Gateway) {
      p = new AddressPool(cfg.Subnet, cfg.Gateway, cfg.IPRange || undefined);
      this.pools.set(n.Id, p);
    }
    if (!p) throw new InvalidParameterError(`network ${n.Name} has no IPv4 pool`);
    return p;
  }

  private ipamData(n: NetworkRecord) {
    const cfg = n.IPAM.Config[0];
    if (!cfg?.Subnet) return [];
    const bits = mustCidr(cfg.Subnet, 'subnet').bits;
    return [{ pool: cfg.Subnet, gateway: `${cfg.Gateway}/${bits}` }];
  }

  private driverOptions(n: NetworkRecord): Record<string, string> {
    return { ...n.Options, ...(n.Internal ? { 'com.docker.network.internal': 'true' } : {}) };
  }

  /** IPAM config of a new network: the user's subnet/range/gateway, checked, or a free subnet from the pools. */
  private ipamConfig(user: IpamConfig | undefined): IpamConfig {
    const taken: Prefix[] = [...this.networks.values()].flatMap((n) => (n.IPAM.Config[0]?.Subnet ? [mustCidr(n.IPAM.Config[0].Subnet, 'subnet')] : []));
    if (!user?.Subnet) {
      if (user?.Gateway || user?.IPRange) throw new InvalidParameterError('invalid pool request: ip-range and gateway need a subnet');
      const ours = new Set([...this.networks.values()].map((n) => n.Options['com.docker.network.bridge.name'] || `br-${n.Id.slice(0, 12)}`));
      const pools = this.deps.daemon()['default-address-pools']?.length ? this.deps.daemon()['default-address-pools']! : DOCKER_DEFAULT_POOLS;
      const subnet = chooseSubnet(pools, [...taken, ...hostRoutes(ours)]);
      return { Subnet: formatPrefix(subnet), Gateway: firstHost(subnet) };
    }
    const subnet = mustCidr(user.Subnet, 'subnet');
    if (subnet.ip !== subnet.base) throw new InvalidParameterError(`invalid subnet ${user.Subnet} : it should be ${formatPrefix(subnet)}`);
    if (taken.some((t) => overlaps(t, subnet))) throw new ForbiddenError('Pool overlaps with other one on this address space');
    if (user.IPRange) {
      const r = mustCidr(user.IPRange, 'ip-range');
      if (r.bits < subnet.bits || !overlaps(r, subnet)) throw new InvalidParameterError(`invalid ip-range ${user.IPRange}: it must be within ${user.Subnet}`);
    }
    const gateway = user.Gateway || firstHost(subnet);
    const gw = parseIp(gateway);
    if (gw === undefined) throw new InvalidParameterError(`invalid gateway address ${gateway}`);
    if (((gw & (subnet.bits === 0 ? 0 : (0xffffffff << (32 - subnet.bits)) >>> 0)) >>> 0) !== subnet.base) throw new InvalidParameterError(`gateway ${gateway} is not in subnet ${user.Subnet}`);
    return { Subnet: formatPrefix(subnet), ...(user.IPRange ? { IPRange: user.IPRange } : {}), Gateway: gateway, ...(user.AuxiliaryAddresses ? { AuxiliaryAddresses: user.AuxiliaryAddresses } : {}) };
  }

  /** `bridge` (unless `"bridge": "none"`), `host` and `none`, created or brought in line with daemon.json. */
  private async ensurePredefined(): Promise<void> {
    const spec: DefaultBridgeSpec | undefined = defaultBridgeSpec(this.deps.daemon(), this.deps.defaultBridgeName);
    const hasBridgeDriver = this.allDrivers().has('bridge');
    const existing = this.byName('bridge');
    if (!spec || !hasBridgeDriver) {
      if (existing) {
        await this.netStore.delete(existing.Id);
        this.networks.delete(existing.Id);
      }
    } else {
      let config = spec.config;
      if (!config) {
        const prev = existing?.IPAM.Config[0];
        const others: Prefix[] = [...this.networks.values()].filter((n) => n !== existing).flatMap((n) => (n.IPAM.Config[0]?.Subnet ? [mustCidr(n.IPAM.Config[0].Subnet, 'subnet')] : []));
        const routes = hostRoutes(new Set([spec.options['com.docker.network.bridge.name']!]));
        if (prev?.Subnet && ![...others, ...routes].some((t) => overlaps(t, mustCidr(prev.Subnet!, 'subnet')))) config = prev;
        else {
          const subnet = chooseSubnet(this.deps.daemon()['default-address-pools']?.length ? this.deps.daemon()['default-address-pools']! : DOCKER_DEFAULT_POOLS, [...others, ...routes]);
          config = { Subnet: formatPrefix(subnet), Gateway: firstHost(subnet) };
        }
      }
      const rec: NetworkRecord = {
        Id: existing?.Id ?? await randomHexId(),
        Name: 'bridge',
        Created: existing?.Created ?? nowRfc3339Nano(),
        Driver: 'bridge',
        Internal: false,
        Attachable: false,
        EnableIPv6: false,
        IPAM: { Driver: 'default', Options: null, Config: [config] },
        Options: spec.options,
        Labels: {},
        Predefined: true,
        UserSubnet: false,
      };
      if (JSON.stringify(rec) !== JSON.stringify(existing)) {
        this.pools.delete(rec.Id);
        await this.netStore.save(rec.Id, rec);
      }
      this.networks.set(rec.Id, rec);
    }
    const missing: NetworkRecord[] = [];
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (this.byName(name)) continue;
      missing.push({
        Id: await randomHexId(), Name: name, Created: nowRfc3339Nano(), Driver: driver, Internal: false, Attachable: false,
        EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Options: {}, Labels: {}, Predefined: true,
      });
    }
    // Saved side by side: on a new data root these atomic writes (two fsyncs each) delay the daemon's first answer.
    await Promise.all(missing.map((rec) => this.netStore.save(rec.Id, rec)));
    for (const rec of missing) this.networks.set(rec.Id, rec);
  }

  private emit(action: string, n: NetworkRecord, extra: Record<string, string> = {}): void {
    this.deps.events.emit('docker.event', dockerEvent('network', action, n.Id, { ...extra, name: n.Name, type: n.Driver }));
  }
}

/** dockerd's buildEndpointDNSNames: container name, aliases, short ID, hostname. */
function dnsNames(c: ContainerRecord, aliases: string[]): string[] {
  const out = [c.Name.replace(/^\//, ''), ...aliases, c.Id.slice(0, 12), ...(c.Config.Hostname ? [c.Config.Hostname] : [])];
  return [...new Set(out.filter(Boolean))];
}

function extServers(c: ContainerRecord, d: Readonly<DaemonConfig>): string[] {
  const own = (c.HostConfig.Dns as string[] | null | undefined) ?? [];
  return own.length ? own : [...((d.dns as string[] | undefined) ?? [])];
}

function nextIfIndex(eps: EndpointRecord[]): number {
  const used = new Set(eps.map((e) => Number(e.IfName.replace(/^eth/, ''))));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}
