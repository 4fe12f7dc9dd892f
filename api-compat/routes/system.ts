import type Router from '@koa/router';
import os from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import {
  ExtensionPoint,
  type ContainerService,
  type ExecDriver,
  type GraphDriver,
  type HostInfo,
  type ImageStore,
  type NetworkDriver,
  type NetworkService,
  type VolumeService,
  type LogDriver,
} from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { defineRoute } from '../http/route.js';
import { queryList } from '../http/query.js';
import { BERTH_VERSION, ENGINE_VERSION, MAX_API_VERSION, goArch } from '../engine-version.js';
import { effectiveMinVersion } from '../http/version.js';
import { registryConfig } from './registry-config.js';
import { diskUsageImages } from './image-list.js';

/** `/_ping`, `/version`, `/info`, `/system/df`. */
export function systemRoutes(router: Router, deps: ApiDeps): void {
  const ping = (head: boolean) => (ctx: Parameters<Parameters<typeof defineRoute>[5]>[0]) => {
    ctx.set('Cache-Control', 'no-cache, no-store, must-revalidate');
    ctx.set('Pragma', 'no-cache');
    // No BuildKit (/session, /grpc): clients must use the classic builder.
    ctx.set('Builder-Version', '1');
    ctx.set('Swarm', 'inactive');
    ctx.status = 200;
    ctx.body = head ? '' : 'OK';
    ctx.set('Content-Type', 'text/plain; charset=utf-8');
  };
  defineRoute(router, deps, 'head', '/_ping', 'system.ping', ping(true));
  defineRoute(router, deps, 'get', '/_ping', 'system.ping', ping(false));

  defineRoute(router, deps, 'get', '/version', 'system.version', async (ctx) => {
    ctx.body = await versionBody(deps);
  });

  defineRoute(router, deps, 'get', '/info', 'system.info', async (ctx) => {
    ctx.body = await infoBody(deps);
  });

  defineRoute(router, deps, 'get', '/system/df', 'system.df', async (ctx) => {
    const types = queryList(ctx.query.type);
    const want = (t: string) => types.length === 0 || types.includes(t);
    const images = deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
    ctx.body = {
      LayersSize: images && want('image') ? await images.layersSize() : 0,
      Images: want('image') ? (images ? await diskUsageImages(images, deps.host) : []) : null,
      Containers: want('container') ? [] : null,
      Volumes: want('volume') ? ((await deps.host.tryCurrent<VolumeService>(ExtensionPoint.VolumeService)?.usage()) ?? []) : null,
      BuildCache: want('build-cache') ? [] : null,
    };
  });
}

export async function versionBody(deps: ApiDeps): Promise<Record<string, unknown>> {
  const facts = deps.host.current<HostInfo>(ExtensionPoint.HostInfo).facts();
  const minVersion = effectiveMinVersion(deps.config()['min-api-version'], '1.24');
  const experimental = deps.config().experimental === true;
  const engine = {
    Version: ENGINE_VERSION,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: minVersion,
    GitCommit: process.env.BERTH_GIT_COMMIT ?? 'berth',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: facts.kernelVersion,
    BuildTime: BUILD_TIME,
  };
  const components: Array<Record<string, unknown>> = [
    { Name: 'Engine', Version: ENGINE_VERSION, Details: { ...stringify(engine), Experimental: String(experimental) } },
    { Name: 'berth', Version: BERTH_VERSION, Details: { GitCommit: engine.GitCommit } },
  ];
  const rts = [...runtimes(deps)];
  const versions = await Promise.all(rts.map(([name, rt]) => rt.driver.runtimeVersion(name)));
  rts.forEach(([name, rt], i) => components.push({ Name: name, Version: versions[i], Details: { Path: rt.path } }));
  return {
    Platform: { Name: `Berth ${BERTH_VERSION}` },
    Components: components,
    ...engine,
    ...(experimental ? { Experimental: true } : {}),
  };
}

/** When the bundle was built (scripts/bundle.mjs defines it); the start time for an unbundled build. */
const BUILD_TIME = process.env.BERTH_BUILD_TIME ?? new Date().toISOString();

async function infoBody(deps: ApiDeps): Promise<Record<string, unknown>> {
  const cfg = deps.config();
  const facts = deps.host.current<HostInfo>(ExtensionPoint.HostInfo).facts();
  const graph = deps.host.tryCurrent<GraphDriver>(ExtensionPoint.GraphDriver);
  const images = deps.host.tryCurrent<ImageStore>(ExtensionPoint.ImageStore);
  const containers = deps.host.tryCurrent<ContainerService>(ExtensionPoint.ContainerService);
  const counts = containers ? await containers.counts() : { running: 0, paused: 0, stopped: 0 };
  const rts = runtimes(deps);
  const networks = deps.host.tryCurrent<NetworkService>(ExtensionPoint.NetworkService)?.drivers() ?? [...deps.host.all<NetworkDriver>(ExtensionPoint.NetworkDriver).keys()];
  const warnings = [...facts.warnings];
  if (!graph) warnings.push('WARNING: no storage driver is active: see the berthd log');
  if (images?.warnings) warnings.push(...(await images.warnings()));
  for (const p of deps.host.statuses()) {
    if (p.state === 'failed') warnings.push(`WARNING: plugin ${p.id} (${p.name}) failed: ${p.reason ?? 'unknown error'}`);
    if (p.reloadError) warnings.push(`WARNING: configuration reload failed for plugin ${p.id} (${p.name}), the previous configuration stays active: ${p.reloadError}`);
  }
  return {
    ID: deps.engineId,
    Containers: counts.running + counts.paused + counts.stopped,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: images ? await images.count() : 0,
    Driver: graph?.name ?? '',
    DriverStatus: graph ? await graph.status() : [],
    Plugins: { Volume: volumeDrivers(deps), Network: networks, Authorization: null, Log: logDrivers(deps) },
    MemoryLimit: true,
    SwapLimit: !facts.warnings.some((w) => w.includes('swap limit')),
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: readForwarding(),
    Debug: cfg.debug === true,
    NFd: countOpenFds(),
    OomKillDisable: facts.cgroupVersion === '1',
    NGoroutines: 0,
    SystemTime: localRfc3339Nano(new Date()),
    LoggingDriver: cfg['log-driver'] ?? 'json-file',
    CgroupDriver: facts.cgroupDriver,
    CgroupVersion: facts.cgroupVersion,
    NEventsListener: deps.eventListeners.count,
    KernelVersion: facts.kernelVersion,
    OperatingSystem: facts.operatingSystem,
    OSVersion: facts.osVersion,
    OSType: 'linux',
    Architecture: facts.architecture,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfig(cfg),
    NCPU: facts.ncpu,
    MemTotal: facts.memTotal,
    GenericResources: null,
    DockerRootDir: cfg['data-root'],
    HttpProxy: String(cfg['http-proxy'] ?? ''),
    HttpsProxy: String(cfg['https-proxy'] ?? ''),
    NoProxy: String(cfg['no-proxy'] ?? ''),
    Name: facts.hostname || os.hostname(),
    Labels: cfg.labels ?? [],
    ExperimentalBuild: cfg.experimental === true,
    ServerVersion: ENGINE_VERSION,
    Runtimes: Object.fromEntries([...rts].map(([name, rt]) => [name, { path: rt.path, ...(rt.args?.length ? { runtimeArgs: rt.args } : {}) }])),
    DefaultRuntime: cfg['default-runtime'] ?? 'runc',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: cfg['live-restore'] === true,
    Isolation: '',
    InitBinary: 'docker-init',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: facts.securityOptions,
    CDISpecDirs: [],
    Warnings: warnings,
  };
}

function runtimes(deps: ApiDeps): Map<string, { path: string; args?: string[]; driver: ExecDriver }> {
  const out = new Map<string, { path: string; args?: string[]; driver: ExecDriver }>();
  for (const driver of deps.host.all<ExecDriver>(ExtensionPoint.ExecDriver).values()) {
    for (const rt of driver.runtimes()) out.set(rt.name, { ...rt, driver });
  }
  return out;
}

/** `docker info` Plugins.Volume: the drivers of the active volume service. */
function volumeDrivers(deps: ApiDeps): string[] {
  return deps.host.tryCurrent<VolumeService>(ExtensionPoint.VolumeService)?.drivers() ?? [];
}

/** `docker info` Plugins.Log: every active log driver, sorted as dockerd's logger.ListDrivers. */
function logDrivers(deps: ApiDeps): string[] {
  return [...deps.host.all<LogDriver>(ExtensionPoint.LogDriver).keys()].sort();
}

function stringify(o: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
}

function readForwarding(): boolean {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

function countOpenFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** Go's time.Now().Format(RFC3339Nano) in local time, as dockerd's SystemTime. */
function localRfc3339Nano(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString().replace('Z', '');
  if (off === 0) return local + 'Z';
  const sign = off > 0 ? '+' : '-';
  const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0');
  const mm = String(Math.abs(off) % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}
