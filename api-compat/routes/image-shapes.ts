import type { ContainerConfig, ImageInfo } from '../../kernel/index.js';
import { attachLegacy } from '../http/legacy-fields.js';

/**
 * The JSON dockerd 28 answers for images, built from the store's facts in
 * the newest shape Berth serves (API 1.51); the adapters in versions/ lower
 * it. Key order follows dockerd's Go structs, since clients print inspect
 * output verbatim.
 */

/** Go's time.Time zero value, dockerd's LastTagTime for an image never tagged locally. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Fields image inspect always shows in `Config` at API ≥ 1.50 (moby#50134). */
const CONFIG_DEFAULTS: Record<string, unknown> = {
  Cmd: null, Entrypoint: null, Env: null, Labels: null, OnBuild: null, User: '', Volumes: null, WorkingDir: '',
};

/** One `GET /images/json` item (image.Summary). */
export function imageSummary(info: ImageInfo, extra: { sharedSize: number; containers: number; repoTags?: string[]; repoDigests?: string[] }) {
  return {
    Containers: extra.containers,
    Created: unixSeconds(info.config.created),
    Id: info.id,
    Labels: info.config.config?.Labels ?? null,
    ParentId: info.parent,
    RepoDigests: extra.repoDigests ?? info.repoDigests,
    RepoTags: extra.repoTags ?? info.repoTags,
    SharedSize: extra.sharedSize,
    Size: info.size,
  };
}

export type ImageSummary = ReturnType<typeof imageSummary>;

/** `GET /images/{name}/json` (image.InspectResponse, with dockerd 28's compat Config). */
export function imageInspect(info: ImageInfo, driverName: string, driverData: Record<string, string> | null): Record<string, unknown> {
  const cfg = info.config;
  const history = cfg.history ?? [];
  const body: Record<string, unknown> = {
    Id: info.id,
    RepoTags: info.repoTags,
    RepoDigests: info.repoDigests,
    Parent: info.parent,
    Comment: cfg.comment || (history.length > 0 ? history[history.length - 1]?.comment ?? '' : ''),
  };
  if (cfg.created) body.Created = normalizeTime(cfg.created);
  body.DockerVersion = cfg.docker_version ?? '';
  body.Author = cfg.author ?? '';
  body.Architecture = cfg.architecture ?? '';
  if (cfg.variant) body.Variant = cfg.variant;
  body.Os = cfg.os || 'linux';
  if (cfg['os.version']) body.OsVersion = cfg['os.version'];
  body.Size = info.size;
  body.GraphDriver = { Data: driverData && Object.keys(driverData).length > 0 ? driverData : null, Name: driverName };
  const rootfs: Record<string, unknown> = {};
  if (cfg.rootfs.type) rootfs.Type = cfg.rootfs.type;
  if (info.layers.length > 0) rootfs.Layers = info.layers.map((l) => l.diffId);
  body.RootFS = rootfs;
  body.Metadata = { LastTagTime: info.lastTagTime ? normalizeTime(info.lastTagTime) : ZERO_TIME };
  body.Config = sortDeep({ ...CONFIG_DEFAULTS, ...ociImageConfig(cfg.config ?? undefined) });
  return attachLegacy(body, {
    Container: cfg.container ?? '',
    ContainerConfig: goContainerConfig(cfg.container_config ?? {}),
  });
}

/** containerConfigToDockerOCIImageConfig: the image-relevant part of container.Config, omitempty. */
function ociImageConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  if (!c) return {};
  const out: Record<string, unknown> = {};
  if (c.User) out.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  if (c.Env?.length) out.Env = c.Env;
  if (c.Entrypoint?.length) out.Entrypoint = c.Entrypoint;
  if (c.Cmd?.length) out.Cmd = c.Cmd;
  if (c.Volumes && Object.keys(c.Volumes).length > 0) out.Volumes = c.Volumes;
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) out.Labels = c.Labels;
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.OnBuild?.length) out.OnBuild = c.OnBuild;
  if (c.Shell?.length) out.Shell = c.Shell;
  return out;
}

/** container.Config in Go field order (ContainerConfig below API 1.45). */
export function goContainerConfig(c: ContainerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Hostname: c.Hostname ?? '', Domainname: c.Domainname ?? '', User: c.User ?? '',
    AttachStdin: c.AttachStdin ?? false, AttachStdout: c.AttachStdout ?? false, AttachStderr: c.AttachStderr ?? false,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length > 0) out.ExposedPorts = c.ExposedPorts;
  Object.assign(out, { Tty: c.Tty ?? false, OpenStdin: c.OpenStdin ?? false, StdinOnce: c.StdinOnce ?? false, Env: c.Env ?? null, Cmd: c.Cmd ?? null });
  if (c.Healthcheck) out.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) out.ArgsEscaped = true;
  Object.assign(out, { Image: c.Image ?? '', Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '', Entrypoint: c.Entrypoint ?? null });
  if (c.NetworkDisabled) out.NetworkDisabled = true;
  if (c.MacAddress) out.MacAddress = c.MacAddress;
  Object.assign(out, { OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? null });
  if (c.StopSignal) out.StopSignal = c.StopSignal;
  if (c.StopTimeout !== undefined && c.StopTimeout !== null) out.StopTimeout = c.StopTimeout;
  if (c.Shell?.length) out.Shell = c.Shell;
  return out;
}

/** Go re-encodes a map[string]any: every object's keys sorted, at any depth. */
export function sortDeep(v: unknown): Record<string, unknown> {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (x === null || typeof x !== 'object') return x;
    return Object.fromEntries(Object.keys(x).sort().map((k) => [k, walk((x as Record<string, unknown>)[k])]));
  };
  return walk(v) as Record<string, unknown>;
}

/** time.Time.Unix of an RFC 3339 string (0 when absent or unreadable). */
export function unixSeconds(s: string | undefined): number {
  if (!s) return 0;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Go's Format(RFC3339Nano) of a parsed time: fraction without trailing zeros, zero offset as Z. */
export function normalizeTime(s: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return s;
  const frac = (m[3] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = /^(?:[Zz]|[+-]00:00)$/.test(m[4]!) ? 'Z' : m[4];
  return `${m[1]}T${m[2]}${frac ? '.' + frac : ''}${zone}`;
}
