import { InvalidParameterError, NotImplementedError, type ContainerRunConfig, type ExecProcessConfig } from '../../kernel/index.js';
import { tweakCapabilities } from './capabilities.js';
import { devicesFromPath, hostDevices } from './host-devices.js';
import { DEFAULT_PATH_ENV, DEFAULT_READONLY_PATHS, DEFAULT_SHM_SIZE, defaultDeviceRules, defaultMaskedPaths, defaultMounts } from './oci-defaults.js';
import { deviceCgroupRules, ociResources } from './oci-resources.js';
import type { OciCapabilities, OciDevice, OciMount, OciNamespace, OciProcess, OciSpec } from './oci-types.js';
import { clampRlimits } from './rlimits.js';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default.js';
import { nativeArch, resolveSeccompProfile, type SeccompProfileTemplate } from './seccomp-profile.js';
import { parseSecurityOpts } from './security-opts.js';
import { mergeTmpfsOptions } from './tmpfs-options.js';
import { resolveUser } from './user-lookup.js';

/** Host facts and daemon settings the spec depends on (everything else comes from the container's config). */
export interface SpecContext {
  /** Container id: names the cgroup. */
  id: string;
  /** Host path of the root filesystem (user lookup reads its /etc/passwd and /etc/group). */
  rootfs: string;
  cgroupVersion: '1' | '2';
  /** daemon.json `cgroup-parent`; Berth's default `/berth` keeps clear of dockerd's `/docker`. */
  cgroupParent?: string;
  /** Host path of docker-init for `--init`. */
  initPath?: string;
  /** `uname -r`, for seccomp minKernel rules. */
  kernelRelease: string;
  /** libseccomp architecture name; defaults to the host's. */
  arch?: string;
  /** False on kernels without seccomp: the default profile is then skipped, as dockerd warns and does. */
  seccompSupported?: boolean;
  /** Sysctls that exist on the host (dockerd only sets its default net sysctls when they do). */
  sysctlExists?: (name: string) => boolean;
  /** Hard limits the daemon may grant without CAP_SYS_RESOURCE; see rlimits.ts. */
  rlimitCeiling?: (type: string) => number | undefined;
}

const IN_CONTAINER_INIT = '/sbin/docker-init';

/**
 * Builds the OCI runtime spec dockerd would generate for a container
 * (moby `daemon/oci_linux.go` createSpec): default spec, then common options,
 * cgroups, resources, sysctls, user, devices, rlimits, namespaces,
 * capabilities, seccomp, mounts, OOM score, no-new-privileges, console size,
 * masked/readonly paths. AppArmor and SELinux labels are left out: Berth loads
 * no LSM profiles.
 */
export async function buildOciSpec(c: ContainerRunConfig, ctx: SpecContext): Promise<OciSpec> {
  const hc = c.HostConfig;
  const cfg = c.Config;
  const security = parseSecurityOpts(hc.SecurityOpt ?? []);
  const privileged = hc.Privileged === true;
  const caps = tweakCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], privileged);

  const process: OciProcess = {
    terminal: cfg.Tty === true,
    user: await resolveUser(ctx.rootfs, cfg.User, hc.GroupAdd ?? []),
    args: [c.Path, ...c.Args],
    env: daemonEnvironment(cfg.Env ?? [], cfg.Hostname ?? '', cfg.Tty === true),
    cwd: cfg.WorkingDir || '/',
    capabilities: capabilitySet(caps),
    oomScoreAdj: hc.OomScoreAdj ?? 0,
  };
  const rlimits = clampRlimits(hc.Ulimits ?? [], ctx.rlimitCeiling);
  if (rlimits.length > 0) process.rlimits = rlimits;
  if (security.noNewPrivileges) process.noNewPrivileges = true;
  if (cfg.Tty && hc.ConsoleSize && (hc.ConsoleSize[0] > 0 || hc.ConsoleSize[1] > 0)) {
    process.consoleSize = { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] };
  }

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process,
    root: { path: ctx.rootfs, readonly: hc.ReadonlyRootfs === true },
    hostname: cfg.Hostname ?? '',
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      maskedPaths: defaultMaskedPaths(),
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      devices: [],
      resources: { devices: defaultDeviceRules(), ...ociResources(hc) },
      cgroupsPath: cgroupsPath(hc.CgroupParent || ctx.cgroupParent || '/berth', ctx.id),
    },
  };
  if (cfg.Domainname) spec.domainname = cfg.Domainname;
  if (hc.Annotations && Object.keys(hc.Annotations).length > 0) spec.annotations = { ...hc.Annotations };

  // --init: docker-init as pid 1, only in a private pid namespace.
  const pidHost = hc.PidMode === 'host';
  if (hc.Init === true && !pidHost) {
    if (!ctx.initPath) throw new InvalidParameterError('docker-init binary not found: --init is not available');
    process.args = [IN_CONTAINER_INIT, '--', c.Path, ...c.Args];
  }

  setNamespaces(spec, c, ctx);
  setSysctls(spec, c, ctx);
  await setDevices(spec, c);
  setSeccomp(spec, caps, security.seccomp, privileged, ctx);
  setMounts(spec, c, ctx);

  if (hc.MaskedPaths) spec.linux.maskedPaths = [...hc.MaskedPaths];
  if (hc.ReadonlyPaths) spec.linux.readonlyPaths = [...hc.ReadonlyPaths];
  return spec;
}

/**
 * The OCI process of `docker exec`: the container's environment with the
 * exec's Env on top, the exec's user (resolved in the rootfs) or the
 * container's, full capabilities when privileged (moby daemon/exec.go).
 */
export async function buildExecProcess(container: OciSpec, e: ExecProcessConfig, rootfs: string, containerUser: string | undefined): Promise<OciProcess> {
  const p: OciProcess = {
    terminal: e.Tty === true,
    user: await resolveUser(rootfs, e.User || containerUser),
    args: [...e.Cmd],
    env: replaceOrAppendEnv(container.process.env.filter((v) => e.Tty || !v.startsWith('TERM=')), [...(e.Tty ? ['TERM=xterm'] : []), ...(e.Env ?? [])]),
    cwd: e.WorkingDir || container.process.cwd,
    capabilities: e.Privileged ? capabilitySet(tweakCapabilities([], [], true)) : container.process.capabilities,
  };
  if (container.process.noNewPrivileges) p.noNewPrivileges = true;
  if (container.process.rlimits) p.rlimits = container.process.rlimits;
  if (e.Tty && e.ConsoleSize && (e.ConsoleSize[0] > 0 || e.ConsoleSize[1] > 0)) p.consoleSize = { height: e.ConsoleSize[0], width: e.ConsoleSize[1] };
  if (e.Cmd.length === 0) throw new InvalidParameterError('No exec command specified');
  return p;
}

function capabilitySet(caps: string[]): OciCapabilities {
  return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
}

/** PATH, HOSTNAME, TERM for a TTY, then the container's Env on top (moby CreateDaemonEnvironment). */
export function daemonEnvironment(env: readonly string[], hostname: string, tty: boolean): string[] {
  const base = [`PATH=${DEFAULT_PATH_ENV}`, `HOSTNAME=${hostname}`];
  if (tty) base.push('TERM=xterm');
  return replaceOrAppendEnv(base, env);
}

/** moby's ReplaceOrAppendEnvValues: same key replaces, new keys append, a bare `KEY` unsets. */
export function replaceOrAppendEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const out: Array<string | null> = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(e!.split('=')[0]!, i));
  for (const v of overrides) {
    const eq = v.indexOf('=');
    if (eq < 0) {
      const i = index.get(v);
      if (i !== undefined) out[i] = null;
      continue;
    }
    const key = v.slice(0, eq);
    const i = index.get(key);
    if (i !== undefined && out[i] !== null) out[i] = v;
    else {
      index.set(key, out.length);
      out.push(v);
    }
  }
  return out.filter((e): e is string => e !== null && e !== '');
}

/** cgroupfs path `<parent>/<id>` (systemd's `slice:prefix:id` form is not supported yet). */
function cgroupsPath(parent: string, id: string): string {
  if (parent.endsWith('.slice')) throw new NotImplementedError('the systemd cgroup driver is not supported; use native.cgroupdriver=cgroupfs');
  return `${parent.startsWith('/') ? '' : '/'}${parent.replace(/\/+$/, '')}/${id}`;
}

function removeNamespace(spec: OciSpec, type: OciNamespace['type']): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== type);
}

function setNamespace(spec: OciSpec, ns: OciNamespace): void {
  const i = spec.linux.namespaces.findIndex((n) => n.type === ns.type);
  if (i >= 0) spec.linux.namespaces[i] = ns;
  else spec.linux.namespaces.push(ns);
}

/** moby WithNamespaces: network, ipc, pid, uts, cgroup modes (joining other containers needs a namespace path). */
function setNamespaces(spec: OciSpec, c: ContainerRunConfig, ctx: SpecContext): void {
  const hc = c.HostConfig;
  const net = hc.NetworkMode ?? '';
  if (hc.NetworkNamespacePath) setNamespace(spec, { type: 'network', path: hc.NetworkNamespacePath });
  else if (net === 'host') removeNamespace(spec, 'network');
  else if (net.startsWith('container:')) throw new InvalidParameterError(`network mode ${net} needs the other container's namespace path`);

  for (const [mode, type, label, path] of [[hc.IpcMode, 'ipc', 'IPC', hc.IpcNamespacePath], [hc.PidMode, 'pid', 'PID', hc.PidNamespacePath]] as const) {
    const m = mode ?? '';
    if (m === 'host') removeNamespace(spec, type);
    else if (m.startsWith('container:')) {
      // The container service resolves the other container to its /proc/<pid>/ns/<type> (moby WithNamespaces).
      if (!path) throw new InvalidParameterError(`${label} mode ${m} needs the other container's namespace path`);
      setNamespace(spec, { type, path });
    }
    else if (!['', 'private', 'shareable', 'none'].includes(m) || (type === 'pid' && ['shareable', 'none'].includes(m))) {
      throw new InvalidParameterError(`invalid ${label} mode: ${m}`);
    }
  }
  const uts = hc.UTSMode ?? '';
  if (uts === 'host') {
    removeNamespace(spec, 'uts');
    spec.hostname = '';
  } else if (uts !== '') throw new InvalidParameterError(`invalid UTS mode: ${uts}`);

  const cgroupns = hc.CgroupnsMode || (ctx.cgroupVersion === '2' ? 'private' : 'host');
  if (cgroupns === 'private') setNamespace(spec, { type: 'cgroup' });
  else if (cgroupns !== 'host') throw new InvalidParameterError(`invalid cgroup namespace mode: ${cgroupns}`);
}

/** dockerd's default net sysctls for a private network namespace, then HostConfig.Sysctls on top. */
function setSysctls(spec: OciSpec, c: ContainerRunConfig, ctx: SpecContext): void {
  const sysctl: Record<string, string> = {};
  const net = c.HostConfig.NetworkMode ?? '';
  // A bridge sandbox joined by path is still the container's own namespace; only container:/host share one.
  const privateNet = net !== 'host' && !net.startsWith('container:');
  const exists = ctx.sysctlExists ?? (() => true);
  if (privateNet) {
    if (exists('net.ipv4.ping_group_range')) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    if (exists('net.ipv4.ip_unprivileged_port_start')) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  Object.assign(sysctl, c.HostConfig.Sysctls ?? {});
  if (Object.keys(sysctl).length > 0) spec.linux.sysctl = sysctl;
}

/** moby WithDevices: host devices and allow-all for --privileged, else --device and --device-cgroup-rule. */
async function setDevices(spec: OciSpec, c: ContainerRunConfig): Promise<void> {
  const hc = c.HostConfig;
  const devices: OciDevice[] = [];
  const res = spec.linux.resources!;
  if (hc.Privileged) {
    devices.push(...(await hostDevices()));
    for (const d of hc.Devices ?? []) {
      if (d.PathOnHost === d.PathInContainer) continue;
      devices.push(...(await devicesFromPath(d.PathOnHost, d.PathInContainer, 'rwm')).devices);
    }
    res.devices = [{ allow: true, access: 'rwm' }];
  } else {
    for (const d of hc.Devices ?? []) {
      const got = await devicesFromPath(d.PathOnHost, d.PathInContainer, d.CgroupPermissions);
      devices.push(...got.devices);
      res.devices!.push(...got.rules);
    }
    res.devices!.push(...deviceCgroupRules(hc.DeviceCgroupRules ?? []));
  }
  spec.linux.devices = devices;
}

/** moby WithSeccomp: unconfined → none; privileged → only an explicit profile; else the given or default profile. */
function setSeccomp(spec: OciSpec, caps: string[], profile: 'default' | 'unconfined' | SeccompProfileTemplate, privileged: boolean, ctx: SpecContext): void {
  if (profile === 'unconfined') return;
  if (privileged && profile === 'default') return;
  if (ctx.seccompSupported === false) {
    if (profile !== 'default') throw new InvalidParameterError('seccomp is not enabled in your kernel, cannot run a custom seccomp profile');
    return;
  }
  const template = profile === 'default' ? DEFAULT_SECCOMP_PROFILE : profile;
  const resolved = resolveSeccompProfile(template, { capabilities: caps, arch: ctx.arch ?? nativeArch(), kernelRelease: ctx.kernelRelease });
  if (resolved) spec.linux.seccomp = resolved;
}

/** Default mounts a readonly rootfs leaves writable (moby withMounts). */
const WRITABLE_ON_READONLY_ROOT = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);

/**
 * moby withMounts: user mounts override defaults at the same destination (a
 * user /dev drops every default under /dev), /dev/shm gets its size, tmpfs
 * mounts get noexec,nosuid,nodev,rprivate plus their options, binds are rbind
 * with ro and propagation; a readonly rootfs makes the remaining defaults ro;
 * --privileged clears ro on /sys and the cgroup mount and drops masking.
 */
function setMounts(spec: OciSpec, c: ContainerRunConfig, ctx: SpecContext): void {
  const hc = c.HostConfig;
  const user: OciMount[] = [];
  for (const m of c.Mounts ?? []) {
    if (m.Type === 'tmpfs') {
      user.push({ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(m.Options ?? [])]) });
      continue;
    }
    const opts = ['rbind'];
    if (m.ReadOnly) opts.push('ro');
    opts.push(m.Propagation || 'rprivate');
    user.push({ destination: m.Destination, type: 'bind', source: m.Source, options: [...opts, ...(m.Options ?? [])] });
  }
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    user.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...(data ? data.split(',') : [])]) });
  }
  const initMount: OciMount[] = spec.process.args[0] === IN_CONTAINER_INIT ? [{ destination: IN_CONTAINER_INIT, type: 'bind', source: ctx.initPath!, options: ['bind', 'ro'] }] : [];
  user.sort((a, b) => depth(a.destination) - depth(b.destination));
  const userDests = new Set(user.map((m) => m.destination));
  const userDev = userDests.has('/dev');

  const defaults: OciMount[] = [];
  for (const m of spec.mounts) {
    if (userDests.has(m.destination)) continue;
    if (userDev && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (hc.IpcMode === 'none') continue;
      m.options = [...(m.options ?? []), `size=${hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE}`];
    }
    defaults.push(m);
  }
  spec.mounts = [...defaults, ...initMount, ...user];

  if (spec.root.readonly) {
    for (const m of spec.mounts) {
      if (WRITABLE_ON_READONLY_ROOT.has(m.destination) || userDests.has(m.destination)) continue;
      if (!(m.options ?? []).includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
  }
  if (hc.Privileged) {
    for (const m of spec.mounts) {
      if (m.destination === '/sys' || m.type === 'cgroup') m.options = (m.options ?? []).filter((o) => o !== 'ro');
    }
    delete spec.linux.readonlyPaths;
    delete spec.linux.maskedPaths;
  }
}

function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}
