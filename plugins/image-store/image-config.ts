import { InvalidParameterError, type ContainerConfig, type HealthConfig, type ImageConfig } from '../../kernel/index.js';
import { isDigest } from './digest.js';

/**
 * Reading and writing image config JSON (image.NewFromJSON and the Go
 * structs' field order). A received config is only parsed, never
 * re-encoded: its bytes are its identity.
 */
export function parseImageConfig(raw: Buffer | string): ImageConfig {
  let img: unknown;
  try {
    img = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new InvalidParameterError(`invalid image config: ${(err as Error).message}`);
  }
  if (img === null || typeof img !== 'object' || Array.isArray(img)) throw new InvalidParameterError('invalid image config: not a JSON object');
  const cfg = img as ImageConfig;
  if (!cfg.rootfs || typeof cfg.rootfs !== 'object') throw new InvalidParameterError('invalid image JSON, no RootFS key');
  const diffs = cfg.rootfs.diff_ids ?? [];
  if (!Array.isArray(diffs) || !diffs.every((d) => typeof d === 'string' && isDigest(d))) {
    throw new InvalidParameterError('invalid image JSON: rootfs.diff_ids must be sha256 digests');
  }
  if (cfg.history !== undefined && cfg.history !== null && !Array.isArray(cfg.history)) {
    throw new InvalidParameterError('invalid image JSON: history must be a list');
  }
  const nonEmpty = (cfg.history ?? []).filter((h) => !h?.empty_layer).length;
  if (nonEmpty > diffs.length) throw new InvalidParameterError('too many non-empty layers in History section');
  return cfg;
}

export function diffIdsOf(cfg: ImageConfig): string[] {
  return cfg.rootfs.diff_ids ?? [];
}

/** image.CheckOS: only Linux images run here. */
export function checkOs(os: string | undefined): void {
  if (os && os !== 'linux') throw new InvalidParameterError(`image operating system "${os}" cannot be used on this platform`);
}

/**
 * container.Config in Go's field order with Go's omitempty rules, the shape
 * dockerd writes for `config` and `container_config`.
 */
export function goContainerConfig(c: ContainerConfig = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: c.User ?? '',
    AttachStdin: c.AttachStdin ?? false,
    AttachStdout: c.AttachStdout ?? false,
    AttachStderr: c.AttachStderr ?? false,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = sortKeys(c.ExposedPorts);
  out.Tty = c.Tty ?? false;
  out.OpenStdin = c.OpenStdin ?? false;
  out.StdinOnce = c.StdinOnce ?? false;
  out.Env = c.Env ?? null;
  out.Cmd = c.Cmd ?? null;
  if (c.Healthcheck) out.Healthcheck = goHealthConfig(c.Healthcheck);
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  out.Image = c.Image ?? '';
  out.Volumes = c.Volumes ? sortKeys(c.Volumes) : null;
  out.WorkingDir = c.WorkingDir ?? '';
  out.Entrypoint = c.Entrypoint ?? null;
  if (c.NetworkDisabled) out.NetworkDisabled = true;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  out.OnBuild = c.OnBuild ?? null;
  out.Labels = c.Labels ? sortKeys(c.Labels) : null;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.StopTimeout !== undefined && c.StopTimeout !== null) out.StopTimeout = c.StopTimeout;
  if (c.Shell && c.Shell.length > 0) out.Shell = c.Shell;
  return out;
}

function goHealthConfig(h: HealthConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (h.Test && h.Test.length > 0) out.Test = h.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    if (h[k]) out[k] = h[k];
  }
  return out;
}

/** Go encodes maps with sorted keys. */
export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
