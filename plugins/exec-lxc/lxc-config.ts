import { existsSync, statSync } from 'node:fs';
import { InvalidParameterError, type ContainerRunConfig } from '../../kernel/index.js';
import type { OciDeviceRule, OciResources, OciSpec } from '../exec-libcontainer/oci-types.js';
import { lxcSeccompPolicy } from './lxc-seccomp.js';

/** Host facts and paths the rendering needs besides the spec. */
export interface LxcConfigContext {
  cgroupVersion: '1' | '2';
  /** The shim, run by LXC as the start-host hook (`<shim> hook lo|tty …`). */
  shimPath: string;
  /** Where the seccomp policy file is written (the config names it). */
  seccompPath: string;
  /** Where the sysctl list for the start-host hook is written. */
  sysctlPath: string;
  /** Where the stop hook leaves its OOM-kill marker (LxcFiles.oom). */
  oomPath?: string;
  /** cgroup v1 `memory.memsw.*` exists (swap accounting). */
  swapAccounting?: boolean;
}

export interface RenderedConfig {
  /** The LXC configuration (`lxc-start -f`). */
  config: string;
  /** Policy to write at `ctx.seccompPath`, when the container has a seccomp profile. */
  seccomp?: string;
  /** `<path under /proc/sys> <value>` lines to write at `ctx.sysctlPath` for the hook. */
  sysctl?: string;
}

/** Mounts LXC itself provides: lxc.mount.auto (proc, sys, cgroup) and lxc.autodev (/dev, /dev/pts). */
const PROVIDED_BY_LXC = new Set(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup']);

/**
 * The OCI spec exec-libcontainer builds for a container (dockerd's createSpec:
 * capabilities, env, user, mounts, resources, seccomp, masked paths …) as an
 * LXC configuration, so both runtimes get the same container from the same
 * ContainerRunConfig. The process arguments are not here: they are given to
 * `lxc-start -- <args>` (lxc.init.cmd cannot quote).
 *
 * Where LXC has no equivalent, the Docker option is refused with a clear
 * error (InvalidParameterError), never dropped.
 */
export function renderLxcConfig(spec: OciSpec, run: ContainerRunConfig, ctx: LxcConfigContext): RenderedConfig {
  const out: string[] = [];
  const set = (key: string, value: string | number) => {
    const v = String(value);
    if (/[\n\r]/.test(v)) throw new InvalidParameterError(`exec-lxc: ${key} cannot contain a newline`);
    out.push(`${key} = ${v}`);
  };
  const hc = run.HostConfig;
  const privileged = hc.Privileged === true;
  const p = spec.process;
  const v2 = ctx.cgroupVersion === '2';

  if (spec.domainname) throw new InvalidParameterError('exec-lxc: --domainname is not supported by LXC');
  if (spec.linux.uidMappings?.length || spec.linux.gidMappings?.length) throw new InvalidParameterError('exec-lxc: user namespaces are not supported yet');

  // Root filesystem: the graph driver's directory, bind-mounted by LXC.
  set('lxc.rootfs.path', `dir:${spec.root.path}`);
  if (spec.root.readonly) set('lxc.rootfs.options', 'ro');

  // Namespaces: clone what the spec keeps private, share paths, inherit the rest (host modes).
  const ns = spec.linux.namespaces;
  const clone: string[] = [];
  const names: Record<string, string> = { mount: 'mnt', pid: 'pid', uts: 'uts', ipc: 'ipc', network: 'net', cgroup: 'cgroup' };
  for (const n of ns) {
    const lxcName = names[n.type];
    if (!lxcName) throw new InvalidParameterError(`exec-lxc: ${n.type} namespaces are not supported`);
    if (n.path) set(`lxc.namespace.share.${lxcName}`, n.path);
    else clone.push(lxcName);
  }
  // On cgroup v1 dockerd's default is the host cgroup namespace with the container's own
  // cgroup bind-mounted at /sys/fs/cgroup/<controller>; LXC gives that view only inside a
  // cgroup namespace, so one is used unless --cgroupns=host was asked for explicitly.
  if (!clone.includes('cgroup') && hc.CgroupnsMode !== 'host') clone.push('cgroup');
  set('lxc.namespace.clone', clone.join(' '));

  const hooks: string[] = [];
  const net = ns.find((n) => n.type === 'network');
  if (!net) set('lxc.net.0.type', 'none'); // --network host: the host's namespace
  else if (!net.path) {
    // A private namespace with only a loopback device, which LXC leaves down: the hook sets it up.
    set('lxc.net.0.type', 'empty');
    hooks.push('lo');
  }
  if (clone.includes('uts') && spec.hostname) set('lxc.uts.name', spec.hostname);

  // Terminal: a TTY container gets LXC's console (a pty of the container's devpts, /dev/console);
  // the shim gives lxc-start a controlling terminal to proxy it to (see launch-scripts.ts).
  set('lxc.tty.max', 0);
  set('lxc.pty.max', 1024);
  if (p.terminal) hooks.push('tty');
  else set('lxc.console.path', 'none');

  // Process: env, user, cwd, capabilities, rlimits, no-new-privileges, OOM score.
  for (const e of p.env) set('lxc.environment', e);
  set('lxc.init.uid', p.user.uid);
  set('lxc.init.gid', p.user.gid);
  const groups = [...new Set((p.user.additionalGids ?? []).filter((g) => g !== p.user.gid))];
  if (groups.length > 0) set('lxc.init.groups', groups.join(','));
  set('lxc.init.cwd', p.cwd || '/');
  if (!privileged) {
    const caps = (p.capabilities?.bounding ?? []).map((c) => c.replace(/^CAP_/, '').toLowerCase());
    set('lxc.cap.keep', caps.length > 0 ? caps.join(' ') : 'none');
  }
  for (const r of p.rlimits ?? []) set(`lxc.prlimit.${r.type.replace(/^RLIMIT_/, '').toLowerCase()}`, `${limit(r.soft)}:${limit(r.hard)}`);
  if (p.noNewPrivileges) set('lxc.no_new_privs', 1);
  if (p.oomScoreAdj) set('lxc.proc.oom_score_adj', p.oomScoreAdj);
  if (p.apparmorProfile || p.selinuxLabel) throw new InvalidParameterError('exec-lxc: AppArmor/SELinux labels are not supported');
  set('lxc.apparmor.profile', 'unconfined'); // as exec-libcontainer: Berth loads no LSM profiles

  // Sysctls (dockerd's namespaced ones: net.*, kernel.msg*/sem/shm*, fs.mqueue.*): LXC writes
  // lxc.sysctl.* after it made /proc/sys read-only and fails, so the start-host hook writes them
  // from the host, inside the container's net/ipc/uts namespaces (shim-script.ts).
  const sysctls = Object.entries(spec.linux.sysctl ?? {});
  let sysctlFile: string | undefined;
  if (sysctls.length > 0) {
    for (const [k, v] of sysctls) {
      if (!/^[a-z0-9_.-]+$/i.test(k) || k.includes('..')) throw new InvalidParameterError(`invalid sysctl name: ${k}`);
      if (/[\n\r]/.test(v)) throw new InvalidParameterError(`invalid value for sysctl ${k}`);
    }
    sysctlFile = sysctls.map(([k, v]) => `${k.replaceAll('.', '/')} ${v}`).join('\n') + '\n';
    hooks.push(`sysctl:${ctx.sysctlPath}`);
  }

  if (hooks.length > 0) set('lxc.hook.start-host', `${ctx.shimPath} hook ${hooks.join(' ')}`);

  // Filesystems: proc, sys and cgroup as dockerd mounts them (read-only sys and cgroup; proc's
  // sysctl tree read-only), /dev as LXC's tmpfs with the default nodes, then every other mount.
  set('lxc.autodev', 1);
  set('lxc.mount.auto', privileged ? 'proc:rw sys:rw cgroup:rw:force' : 'proc:mixed sys:ro cgroup:ro:force');
  for (const m of spec.mounts) {
    if (PROVIDED_BY_LXC.has(m.destination)) continue;
    set('lxc.mount.entry', mountEntry(m.type ?? 'bind', m.source ?? m.type ?? 'none', m.destination, m.options ?? []));
  }
  for (const d of hc.Devices ?? []) {
    if (!existsSync(d.PathOnHost)) throw new InvalidParameterError(`error gathering device information while adding custom device "${d.PathOnHost}": no such file or directory`);
    set('lxc.mount.entry', mountEntry('bind', d.PathOnHost, d.PathInContainer, ['bind']));
  }
  for (const path of spec.linux.maskedPaths ?? []) {
    const dir = isDir(path);
    if (dir === undefined) continue; // not on this kernel
    set('lxc.mount.entry', dir ? `tmpfs ${rel(path)} tmpfs ro,optional 0 0` : `/dev/null ${rel(path)} none bind,optional 0 0`);
  }

  // Cgroup: <parent>/<id> as exec-libcontainer names it; the monitor's own cgroup beside it.
  const cg = (spec.linux.cgroupsPath ?? '').replace(/^\/+/, '');
  if (cg) {
    set('lxc.cgroup.dir.container', cg);
    set('lxc.cgroup.dir.monitor', `${cg}.lxc-monitor`);
    const parent = cg.includes('/') ? cg.slice(0, cg.lastIndexOf('/')) : '';
    set('lxc.cgroup.dir.monitor.pivot', parent ? `${parent}/lxc.pivot` : 'lxc.pivot');
    // OOM kills: conmon watches the cgroup of the process it runs (start.sh, in berthd's cgroup), and
    // LXC removes the container's cgroup once it stopped; LXC's stop hook runs before that removal
    // and looks at the kernel's OOM-kill count (v1 memory.oom_control, v2 memory.events).
    if (ctx.oomPath) set('lxc.hook.stop', `${ctx.shimPath} oom ${ctx.oomPath} ${v2 ? `/sys/fs/cgroup/${cg}/memory.events` : `/sys/fs/cgroup/memory/${cg}/memory.oom_control`}`);
  }
  const res = spec.linux.resources ?? {};
  for (const [k, v] of cgroupSettings(res, ctx)) set(`${v2 ? 'lxc.cgroup2' : 'lxc.cgroup'}.${k}`, v);
  for (const rule of deviceRules(res.devices ?? [], privileged)) set(`${v2 ? 'lxc.cgroup2' : 'lxc.cgroup'}.devices.${rule.allow ? 'allow' : 'deny'}`, rule.text);

  let seccomp: string | undefined;
  if (spec.linux.seccomp) {
    seccomp = lxcSeccompPolicy(spec.linux.seccomp);
    set('lxc.seccomp.profile', ctx.seccompPath);
  }
  return { config: out.join('\n') + '\n', seccomp, sysctl: sysctlFile };
}

/** cgroup files and values for Docker's resources, per hierarchy version (what runc writes). */
export function cgroupSettings(res: Pick<OciResources, 'memory' | 'cpu' | 'pids' | 'blockIO'>, ctx: Pick<LxcConfigContext, 'cgroupVersion' | 'swapAccounting'>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const m = res.memory;
  const c = res.cpu;
  if (ctx.cgroupVersion === '2') {
    if (m?.limit) out.push(['memory.max', String(m.limit)]);
    if (m?.reservation) out.push(['memory.low', String(m.reservation)]);
    if (m?.swap !== undefined) out.push(['memory.swap.max', m.swap === -1 ? 'max' : String(Math.max(0, m.swap - (m.limit ?? 0)))]);
    if (m?.disableOOMKiller) throw new InvalidParameterError('exec-lxc: --oom-kill-disable is not supported on cgroup v2');
    if (c?.shares) out.push(['cpu.weight', String(Math.round(1 + ((c.shares - 2) * 9999) / 262142))]);
    if (c?.quota || c?.period) out.push(['cpu.max', `${c.quota && c.quota > 0 ? c.quota : 'max'} ${c.period ?? 100000}`]);
    if (c?.cpus) out.push(['cpuset.cpus', c.cpus]);
    if (c?.mems) out.push(['cpuset.mems', c.mems]);
    if (res.pids) out.push(['pids.max', res.pids.limit > 0 ? String(res.pids.limit) : 'max']);
    if (res.blockIO?.weight) out.push(['io.weight', String(res.blockIO.weight)]);
    return out;
  }
  if (m?.limit) out.push(['memory.limit_in_bytes', String(m.limit)]);
  if (m?.swap !== undefined && ctx.swapAccounting) out.push(['memory.memsw.limit_in_bytes', String(m.swap)]);
  if (m?.reservation) out.push(['memory.soft_limit_in_bytes', String(m.reservation)]);
  if (m?.swappiness !== undefined) out.push(['memory.swappiness', String(m.swappiness)]);
  if (m?.disableOOMKiller) out.push(['memory.oom_control', '1']);
  if (c?.shares) out.push(['cpu.shares', String(c.shares)]);
  if (c?.period) out.push(['cpu.cfs_period_us', String(c.period)]);
  if (c?.quota) out.push(['cpu.cfs_quota_us', String(c.quota)]);
  if (c?.cpus) out.push(['cpuset.cpus', c.cpus]);
  if (c?.mems) out.push(['cpuset.mems', c.mems]);
  if (res.pids) out.push(['pids.max', res.pids.limit > 0 ? String(res.pids.limit) : 'max']);
  if (res.blockIO?.weight) out.push(['blkio.weight', String(res.blockIO.weight)]);
  return out;
}

/**
 * dockerd's device rules in LXC's `devices.allow/deny` form. LXC's autodev
 * creates /dev/full, /dev/ptmx and the devpts ptys, which runc allows
 * implicitly (its default devices); they are allowed here explicitly, with
 * dockerd's `mknod` of anything.
 */
function deviceRules(rules: OciDeviceRule[], privileged: boolean): Array<{ allow: boolean; text: string }> {
  if (privileged) return [{ allow: true, text: 'a' }];
  const text = (r: OciDeviceRule) => (r.type === undefined || r.type === 'a') && r.major === undefined && r.minor === undefined
    ? 'a'
    : `${r.type ?? 'a'} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access ?? 'rwm'}`;
  const out = rules.map((r) => ({ allow: r.allow, text: text(r) }));
  const implicit = ['c *:* m', 'b *:* m', 'c 1:7 rwm', 'c 5:2 rwm', 'c 136:* rwm'].map((t) => ({ allow: true, text: t }));
  // The leading deny-all must stay first; the implicit allows follow it.
  const first = out[0] && !out[0].allow && out[0].text === 'a' ? [out.shift()!] : [];
  return [...first, ...implicit, ...out];
}

/** One fstab-style `lxc.mount.entry` line; the target is relative to the rootfs (LXC resolves it inside). */
function mountEntry(type: string, source: string, destination: string, options: readonly string[]): string {
  const opts = options.filter((o) => o !== 'newinstance');
  if (type === 'bind' || opts.includes('bind') || opts.includes('rbind')) {
    if (!opts.includes('bind') && !opts.includes('rbind')) opts.unshift('rbind');
    const dir = isDir(source);
    if (dir === undefined) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
    opts.push(dir ? 'create=dir' : 'create=file');
    return `${esc(source)} ${rel(destination)} none ${opts.join(',')} 0 0`;
  }
  opts.push('create=dir');
  return `${esc(source)} ${rel(destination)} ${type} ${opts.join(',')} 0 0`;
}

function rel(path: string): string {
  const r = esc(path.replace(/^\/+/, ''));
  if (!r) throw new InvalidParameterError('exec-lxc: a mount cannot target /');
  return r;
}

/** fstab escaping (getmntent's \040 and friends). */
function esc(s: string): string {
  return s.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function isDir(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined;
  }
}

function limit(n: number): string {
  return n < 0 || n >= 2 ** 63 ? 'unlimited' : String(n);
}
