import { isIP } from 'node:net';

/**
 * Value checks for daemon.json, each returning dockerd's own error text (or
 * undefined when the value is fine). The wording is copied from dockerd
 * (daemon/config, daemon/pkg/opts, daemon/pkg/registry) because users and
 * tooling match on it; where dockerd has no config-time message, ours names the key.
 */

export type Problem = string | undefined;

/** opts.ParseDaemonHost: unix://, tcp://host:port, fd://, npipe://; a bare address means tcp. */
export function hostProblem(value: string): Problem {
  const address = value.trim();
  if (address === '') return undefined;
  const sep = address.indexOf('://');
  const proto = sep < 0 ? 'tcp' : address.slice(0, sep);
  const addr = sep < 0 ? address : address.slice(sep + 3);
  switch (proto) {
    case 'tcp': {
      const why = tcpProblem(sep < 0 ? `tcp://${address}` : address);
      return why ? `invalid bind address (${address}): ${why}` : undefined;
    }
    case 'unix':
    case 'npipe':
      return addr.includes('://') ? `invalid bind address (${address}): invalid ${proto} address: ${addr}` : undefined;
    case 'fd':
      return undefined;
    default:
      return `invalid bind address (${address}): unsupported proto '${proto}'`;
  }
}

/** opts.parseTCPAddr (non-strict): no path, and a port, if any, must be a non-zero number. */
function tcpProblem(url: string): Problem {
  const sep = url.indexOf('://');
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== 'tcp') return `unsupported proto '${scheme}'`;
  const rest = url.slice(sep + 3).split('#')[0]!.split('?')[0]!;
  const slash = rest.indexOf('/');
  if (slash >= 0) return 'should not contain a path element';
  let port = '';
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end >= 0 && rest[end + 1] === ':') port = rest.slice(end + 2);
  } else if (rest.includes(':')) {
    port = rest.slice(rest.lastIndexOf(':') + 1);
  }
  if (port !== '' && (!/^\d+$/.test(port) || Number(port) === 0)) return `invalid port: ${port}`;
  return undefined;
}

/** net.ParseCIDR's notion of a CIDR (no zones, decimal prefix length within the family). */
export function parseCidr(value: string): { family: 4 | 6; bits: number } | undefined {
  const slash = value.indexOf('/');
  if (slash < 0 || value.includes('%')) return undefined;
  const family = isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  if (family === 0 || !/^(0|[1-9]\d{0,2})$/.test(bits)) return undefined;
  const n = Number(bits);
  if (n > (family === 4 ? 32 : 128)) return undefined;
  return { family: family as 4 | 6, bits: n };
}

/** dockerd's `parse bip failed: invalid CIDR address: x` (also for bip6 and fixed-cidr). */
export function cidrProblem(key: string, value: string, family?: 4 | 6): Problem {
  const c = parseCidr(value);
  if (c && (family === undefined || c.family === family)) return undefined;
  return key === 'fixed-cidr-v6'
    ? `invalid fixed-cidr-v6: invalid CIDR address: ${value}`
    : `parse ${key} failed: invalid CIDR address: ${value}`;
}

export function ipProblem(key: string, value: string): Problem {
  return isIP(value.trim()) !== 0 && !value.includes('%') ? undefined : `invalid IP address in ${key}: ${value}`;
}

const ALPHA = /[a-zA-Z]/;
// Ported verbatim from opts.domainRegexp, including its `:?` oddities.
const DOMAIN = /^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])))*)\.?\s*$/;

/** opts.ValidateDNSSearch: `.` or a domain; `123456 is not a valid domain`. */
export function domainProblem(raw: string): Problem {
  const value = raw.replace(/^ +| +$/g, '');
  if (value === '.') return undefined;
  const m = ALPHA.test(value) ? DOMAIN.exec(value) : null;
  return m && m[1]!.length < 255 ? undefined : `${value} is not a valid domain`;
}

/** opts.ValidateLabel: `k=v`, and not in Docker's reserved namespaces. */
export function labelProblem(value: string): Problem {
  if (!value.includes('=')) return `bad attribute format: ${value}`;
  const lowered = value.toLowerCase();
  if (['com.docker.', 'io.docker.', 'org.dockerproject.'].some((p) => lowered.startsWith(p))) {
    return `label ${value} is not allowed: the namespaces com.docker.*, io.docker.*, and org.dockerproject.* are reserved for internal use`;
  }
  return undefined;
}

/** config.GetConflictFreeLabels: one key with two different values is an error. */
export function labelConflicts(labels: readonly string[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const label of labels) {
    const eq = label.indexOf('=');
    if (eq < 0) continue;
    const key = label.slice(0, eq);
    const val = label.slice(eq + 1);
    const prev = seen.get(key);
    if (prev !== undefined && prev !== val) out.push(`conflict labels for ${key}=${val} and ${key}=${prev}`);
    else seen.set(key, val);
  }
  return out;
}

/** registry.ValidateMirror. */
export function mirrorProblem(mirror: string): Problem {
  const sep = mirror.indexOf('://');
  const q = JSON.stringify(mirror);
  if (sep <= 0) return `invalid mirror: no scheme specified for ${q}: must use either 'https://' or 'http://'`;
  const scheme = mirror.slice(0, sep).toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) return `invalid mirror: ${q} is not a valid URI`;
  if (scheme !== 'http' && scheme !== 'https') {
    return `invalid mirror: unsupported scheme ${JSON.stringify(scheme)} in ${q}: must use either 'https://' or 'http://'`;
  }
  const rest = mirror.slice(sep + 3);
  if (/[?#]/.test(rest)) return `invalid mirror: query or fragment at end of the URI ${q}`;
  const authority = rest.split('/')[0]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const user = authority.slice(0, at).split(':')[0]!;
    const shown = `${mirror.slice(0, sep + 3)}${user}:xxxxx@${rest.slice(at + 1)}`;
    return `invalid mirror: username/password not allowed in URI ${JSON.stringify(shown)}`;
  }
  return undefined;
}

/** registry.ValidateIndexName (the part that can fail). */
export function indexNameProblem(name: string): Problem {
  return name.startsWith('-') || name.endsWith('-') ? `invalid index name (${name}). Cannot begin or end with a hyphen` : undefined;
}

/** config.parseExecOptions on Linux, plus verifyCgroupDriver's value check. */
export function execOptProblem(keyValue: string): Problem {
  const eq = keyValue.indexOf('=');
  const k = (eq < 0 ? keyValue : keyValue.slice(0, eq)).trim().toLowerCase();
  const v = eq < 0 ? '' : keyValue.slice(eq + 1).trim();
  if (eq < 0 || k === '' || v === '') return `invalid exec-opt (${keyValue}): must be formatted 'opt=value'`;
  if (k === 'isolation') return `invalid exec-opt (${keyValue}): option 'isolation' is only supported on windows`;
  if (k !== 'native.cgroupdriver') return `invalid exec-opt (${keyValue}): unknown option: '${k}'`;
  if (v !== 'cgroupfs' && v !== 'systemd') return `native.cgroupdriver option ${v} not supported`;
  return undefined;
}

/** The cgroup driver the exec-opts ask for, if any. */
export function cgroupDriver(execOpts: readonly string[] | undefined): string | undefined {
  let driver: string | undefined;
  for (const o of execOpts ?? []) {
    const eq = o.indexOf('=');
    if (eq > 0 && o.slice(0, eq).trim().toLowerCase() === 'native.cgroupdriver') driver = o.slice(eq + 1).trim();
  }
  return driver;
}

/** go-units RAMInBytes syntax: `64M`, `1.5g`, `512KiB`, `1024`. */
export function sizeProblem(value: string): Problem {
  return /^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.test(value) ? undefined : `invalid size: '${value}'`;
}

/** verifyDefaultIpcMode. */
export function ipcModeProblem(mode: string): Problem {
  const hint = 'use "shareable" or "private"';
  const valid = ['', 'host', 'private', 'shareable', 'none'].includes(mode) || /^container:.+/.test(mode);
  if (!valid) return `default IPC mode setting (${mode}) is invalid; ${hint}`;
  if (mode !== '' && mode !== 'private' && mode !== 'shareable') return `IPC mode "${mode}" is not supported as default value; ${hint}`;
  return undefined;
}

/** verifyDefaultCgroupNsMode. */
export function cgroupnsModeProblem(mode: string): Problem {
  return ['', 'host', 'private'].includes(mode) ? undefined : `invalid default cgroup namespace (${mode}): use "host" or "private"`;
}

/** validateFwMarkMask: `mark[/mask]`, each a uint32 in Go's base-0 syntax. */
export function fwMarkProblem(value: string): Problem {
  const slash = value.indexOf('/');
  const parts: Array<[string, string]> = [['mark', slash < 0 ? value : value.slice(0, slash)]];
  if (slash >= 0) parts.push(['mask', value.slice(slash + 1)]);
  for (const [what, s] of parts) {
    const ok = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO]?[0-7]*|[1-9]\d*)$/.test(s);
    const n = ok ? Number(s.replace(/^0([oO])/, '0o').replace(/^0(?=[0-7])/, '0o')) : NaN;
    if (!ok || !(n <= 0xffffffff)) {
      return `invalid bridge-accept-fwmark: invalid firewall ${what} ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`;
    }
  }
  return undefined;
}

/** config.ValidateMinAPIVersion, without an upper bound (the API layer owns that). */
export function minApiVersionProblem(ver: string): Problem {
  if (ver === '') return 'invalid min-api-version: value is empty';
  if (/^v/i.test(ver)) return 'invalid min-api-version: API version must be provided without "v" prefix';
  const m = /^(\d+)\.(\d+)$/.exec(ver);
  if (!m) return `invalid min-api-version: ${ver}`;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  if (maj < 1 || (maj === 1 && min < 24)) return `invalid min-api-version: minimum supported API version is 1.24: ${ver}`;
  return undefined;
}

/** setupRuntimes' rules for configured runtimes (dockerd's wording). */
export function runtimeProblems(rts: Record<string, { path?: string; runtimeType?: string; runtimeArgs?: string[]; options?: Record<string, unknown> }>): string[] {
  const out: string[] = [];
  // runc as in dockerd; lxc because Berth serves it itself (exec-lxc): a second driver serving
  // the same name would make a container's runtime name ambiguous.
  for (const reserved of ['runc', 'lxc']) if (Object.hasOwn(rts, reserved)) out.push(`runtime name '${reserved}' is reserved`);
  for (const [name, rt] of Object.entries(rts)) {
    if (name === 'runc' || name === 'lxc') continue;
    if (!rt.path && !rt.runtimeType) out.push(`runtime ${name}: either a runtimeType or a path must be configured`);
    else if (rt.path && rt.runtimeType) out.push(`runtime ${name}: cannot configure both path and runtimeType for the same runtime`);
    else if (rt.path && rt.options && Object.keys(rt.options).length > 0) out.push(`runtime ${name}: options cannot be used with a path runtime`);
    else if (rt.runtimeType && rt.runtimeArgs && rt.runtimeArgs.length > 0) out.push(`runtime ${name}: args cannot be used with a runtimeType runtime`);
  }
  return out;
}

/** default-address-pools: a CIDR base and a size no shorter than it. */
export function poolProblems(pools: Array<{ base?: string; size?: number }>): string[] {
  const out: string[] = [];
  for (const p of pools) {
    const c = p.base === undefined ? undefined : parseCidr(p.base);
    if (!c) { out.push(`invalid default-address-pools: invalid CIDR address: ${p.base ?? ''}`); continue; }
    const max = c.family === 4 ? 32 : 128;
    if (p.size === undefined || p.size < c.bits || p.size > max) out.push(`invalid default-address-pools: invalid size ${p.size ?? 0} for base ${p.base}`);
  }
  return out;
}

/** dopts.ValidateHostGatewayIPs: valid IPs, at most one per family. */
export function hostGatewayProblems(ips: string[]): string[] {
  const bad = ips.map((s) => ipProblem('host-gateway-ips', s)).filter((m): m is string => m !== undefined);
  if (bad.length) return bad;
  const v4 = ips.filter((s) => s.includes('.') && !s.includes(':')).length;
  const v6 = ips.length - v4;
  return [
    ...(v4 > 1 ? ['only one IPv4 host gateway IP address can be specified'] : []),
    ...(v6 > 1 ? ['only one IPv6 host gateway IP address can be specified'] : []),
  ];
}
