import { constants } from 'node:os';
import { posix } from 'node:path';
import { InvalidParameterError, type ContainerConfig, type HealthConfig } from '../../kernel/index.js';
import { processWord, processWords, splitWords, type EnvLookup } from './shell-words.js';

/**
 * dockerfile.BuildFromConfig for `docker import --change` (and later
 * `docker commit --change`): the change lines are parsed as a Dockerfile
 * and the config-only instructions applied to a container config. Anything
 * else is refused with dockerd's "<x> is not a valid change command".
 */
const VALID = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

export function applyChanges(base: ContainerConfig, changes: readonly string[]): ContainerConfig {
  if (changes.length === 0) return base;
  const instructions = parseDockerfile(changes.join('\n'));
  for (const ins of instructions) {
    if (!VALID.has(ins.keyword)) throw new InvalidParameterError(`${ins.keyword} is not a valid change command`);
  }
  const cfg: ContainerConfig = structuredClone(base);
  let cmdSet = false;
  const env: EnvLookup = (name) => {
    for (const e of cfg.Env ?? []) {
      const eq = e.indexOf('=');
      if ((eq < 0 ? e : e.slice(0, eq)) === name) return eq < 0 ? '' : e.slice(eq + 1);
    }
    return undefined;
  };
  for (const { keyword, args } of instructions) {
    switch (keyword) {
      case 'cmd':
        cfg.Cmd = commandLine(args);
        cmdSet = true;
        break;
      case 'entrypoint':
        cfg.Entrypoint = commandLine(args);
        if (!cmdSet) cfg.Cmd = null;
        break;
      case 'env':
        for (const [k, v] of nameValues('ENV', args, env)) {
          const list = (cfg.Env ??= []);
          const i = list.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === k);
          if (i >= 0) list[i] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
        }
        break;
      case 'label':
        for (const [k, v] of nameValues('LABEL', args, env)) (cfg.Labels ??= {})[k] = v;
        break;
      case 'expose': {
        const ports = splitWords(args).flatMap((w) => processWords(w, env));
        if (ports.length === 0) throw new InvalidParameterError('EXPOSE requires at least one argument');
        for (const p of ports) for (const key of portKeys(p)) (cfg.ExposedPorts ??= {})[key] = {};
        break;
      }
      case 'user':
        cfg.User = processWord(requireArg('USER', args), env);
        break;
      case 'volume': {
        const list = jsonArray(args) ?? splitWords(args).map((w) => processWord(w, env));
        if (list.length === 0) throw new InvalidParameterError('VOLUME requires at least one argument');
        for (const v of list) {
          if (v.trim() === '') throw new InvalidParameterError('VOLUME specified can not be an empty string');
          (cfg.Volumes ??= {})[v] = {};
        }
        break;
      }
      case 'workdir': {
        const dir = processWord(requireArg('WORKDIR', args), env);
        if (dir === '') throw new InvalidParameterError('cannot normalize nothing');
        cfg.WorkingDir = dir.startsWith('/') ? posix.normalize(dir) : posix.join('/', cfg.WorkingDir ?? '', dir);
        break;
      }
      case 'stopsignal': {
        const sig = processWord(requireArg('STOPSIGNAL', args), env);
        checkSignal(sig);
        cfg.StopSignal = sig;
        break;
      }
      case 'onbuild': {
        const trigger = args.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
        if (trigger === '') throw new InvalidParameterError('ONBUILD requires at least one argument');
        if (trigger === 'ONBUILD') throw new InvalidParameterError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InvalidParameterError(`${trigger} isn't allowed as an ONBUILD trigger`);
        (cfg.OnBuild ??= []).push(args.trim());
        break;
      }
      case 'healthcheck':
        cfg.Healthcheck = healthcheck(args);
        break;
    }
  }
  return cfg;
}

interface Instruction { keyword: string; args: string }

/** The Dockerfile parser's line handling: comments, blank lines, `\` continuations. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue; // comments inside a continuation are dropped
    const cont = /\\\s*$/.test(line);
    pending += cont ? line.replace(/\\\s*$/, '') : line;
    if (cont) continue;
    const stmt = pending.trim();
    pending = '';
    if (stmt === '') continue;
    const m = /^(\S+)\s*(.*)$/s.exec(stmt)!;
    out.push({ keyword: m[1]!.toLowerCase(), args: m[2]! });
  }
  if (pending.trim() !== '') {
    const m = /^(\S+)\s*(.*)$/s.exec(pending.trim())!;
    out.push({ keyword: m[1]!.toLowerCase(), args: m[2]! });
  }
  return out;
}

function requireArg(name: string, args: string): string {
  if (args.trim() === '') throw new InvalidParameterError(`${name} requires exactly one argument`);
  return args.trim();
}

/** A JSON array of strings (exec form), or null when `args` is not one. */
function jsonArray(args: string): string[] | null {
  const t = args.trim();
  if (!t.startsWith('[')) return null;
  try {
    const v = JSON.parse(t) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
}

/** CMD/ENTRYPOINT: exec form as given, shell form wrapped in /bin/sh -c. */
function commandLine(args: string): string[] {
  return jsonArray(args) ?? ['/bin/sh', '-c', args.trim()];
}

/** ENV/LABEL arguments: `k=v k2="v 2"` or the legacy `key value with spaces`. */
function nameValues(name: string, args: string, env: EnvLookup): Array<[string, string]> {
  const words = splitWords(args);
  if (words.length === 0) throw new InvalidParameterError(`${name} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    if (words.length < 2) throw new InvalidParameterError(`${name} must have two arguments`);
    const key = words[0]!;
    const value = args.trim().slice(args.trim().indexOf(key) + key.length).trim();
    return [[processWord(key, env), processWord(value, env)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new InvalidParameterError(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = processWord(w.slice(0, eq), env);
    if (key === '') throw new InvalidParameterError(`${name} names can not be blank`);
    return [key, processWord(w.slice(eq + 1), env)];
  });
}

/** nat.ParsePortSpecs for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`, `ip:host:container/proto`. */
function portKeys(spec: string): string[] {
  const slash = spec.lastIndexOf('/');
  const proto = slash < 0 ? 'tcp' : spec.slice(slash + 1).toLowerCase();
  let port = slash < 0 ? spec : spec.slice(0, slash);
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidParameterError(`invalid proto: ${proto}`);
  if (port.includes(':')) port = port.slice(port.lastIndexOf(':') + 1);
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start < 1 || end > 65535 || end < start) throw new InvalidParameterError(`Invalid containerPort: ${port}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** signal.ParseSignal: a number other than 0, or a known name with or without SIG. */
function checkSignal(sig: string): void {
  if (/^\d+$/.test(sig)) {
    if (Number(sig) === 0) throw new InvalidParameterError(`Invalid signal: ${sig}`);
    return;
  }
  const name = sig.toUpperCase().replace(/^SIG/, '');
  if (!(`SIG${name}` in constants.signals)) throw new InvalidParameterError(`Invalid signal: ${sig}`);
}

/** HEALTHCHECK NONE | HEALTHCHECK [--interval=…] CMD … */
function healthcheck(args: string): HealthConfig {
  let rest = args.trim();
  const flags: Record<string, string> = {};
  for (let m; (m = /^--([a-z-]+)=(\S*)\s*/.exec(rest)); rest = rest.slice(m[0].length)) flags[m[1]!] = m[2]!;
  const typ = rest.split(/\s+/)[0]?.toUpperCase() ?? '';
  if (typ === 'NONE') {
    if (rest.split(/\s+/).length > 1 || Object.keys(flags).length > 0) throw new InvalidParameterError('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (typ !== 'CMD') throw new InvalidParameterError(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
  const cmdArgs = rest.slice(3).trim();
  const exec = jsonArray(cmdArgs);
  const h: HealthConfig = { Test: exec ? ['CMD', ...exec] : ['CMD-SHELL', cmdArgs] };
  for (const [flag, key] of [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']] as const) {
    if (flags[flag] === undefined || flags[flag] === '') continue;
    const ns = goDuration(flags[flag]!);
    if (ns < 0) throw new InvalidParameterError(`Interval ${JSON.stringify(flag)} cannot be negative`);
    if (ns !== 0 && ns < 1_000_000) throw new InvalidParameterError(`Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    h[key] = ns;
  }
  for (const flag of Object.keys(flags)) {
    if (!['interval', 'timeout', 'start-period', 'start-interval', 'retries'].includes(flag)) throw new InvalidParameterError(`Unknown flag: ${flag}`);
  }
  if (flags.retries !== undefined && flags.retries !== '') {
    if (!/^-?\d+$/.test(flags.retries)) throw new InvalidParameterError(`strconv.ParseInt: parsing ${JSON.stringify(flags.retries)}: invalid syntax`);
    const n = Number(flags.retries);
    if (n < 0) throw new InvalidParameterError(`--retries cannot be negative (${n})`);
    h.Retries = n;
  }
  return h;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in nanoseconds. */
function goDuration(v: string): number {
  if (v === '0') return 0;
  const m = /^([-+]?)((?:[0-9.]+(?:ns|us|µs|ms|s|m|h))+)$/.exec(v);
  if (!m) throw new InvalidParameterError(`time: invalid duration ${JSON.stringify(v)}`);
  let total = 0;
  for (const part of m[2]!.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * UNIT_NS[part[2]!]!;
  return Math.round(m[1] === '-' ? -total : total);
}
