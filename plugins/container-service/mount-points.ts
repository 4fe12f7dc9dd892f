import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { InvalidParameterError, type ContainerRecord, type HostConfig, type MountPoint } from '../../kernel/index.js';

/** `--mount` as it arrives in HostConfig.Mounts (api/types/mount.Mount). */
interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> | null; DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

const PROPAGATIONS = ['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'];

/**
 * A container's mount points from its create request, by dockerd's rules
 * (daemon/volumes.go registerMountPoints, volume/mounts/linux_parser.go):
 * `--volumes-from` first, then `-v` binds, then `--mount`, then the image's
 * VOLUMEs that nothing else covers, as anonymous volumes. A destination may
 * be used once. Volumes are not created here (the caller does that).
 */
export function planMountPoints(c: Pick<ContainerRecord, 'Config' | 'HostConfig'>, volumesFrom: (ref: string) => ContainerRecord): MountPoint[] {
  const hc = c.HostConfig;
  const byDest = new Map<string, MountPoint>();
  const add = (m: MountPoint, dup: 'error' | 'replace') => {
    if (byDest.has(m.Destination) && dup === 'error') throw new InvalidParameterError(`Duplicate mount point: ${m.Destination}`);
    byDest.set(m.Destination, m);
  };
  for (const spec of (hc.VolumesFrom as string[] | null | undefined) ?? []) {
    const [ref, mode = ''] = spec.split(':');
    if (mode && mode !== 'ro' && mode !== 'rw') throw new InvalidParameterError(`invalid mode for volumes-from: ${mode}`);
    const from = volumesFrom(ref!);
    for (const m of Object.values(from.MountPoints ?? {})) add({ ...m, RW: mode ? mode === 'rw' : m.RW, CopyData: false }, 'replace');
  }
  for (const b of hc.Binds ?? []) add(parseBind(b), 'error');
  for (const m of (hc.Mounts as ApiMount[] | null | undefined) ?? []) add(parseMount(m), 'error');
  for (const dest of Object.keys(c.Config.Volumes ?? {})) {
    const d = cleanPath(dest);
    if (!byDest.has(d)) byDest.set(d, { Type: 'volume', Name: '', Source: '', Destination: d, Driver: (hc.VolumeDriver as string) || 'local', RW: true, Mode: '', Propagation: '', CopyData: true, Anonymous: true });
  }
  return [...byDest.values()];
}

/** `-v src:dst[:opts]`: a host path (absolute) or a volume name; opts ro/rw, z/Z, nocopy, a propagation. */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidParameterError(`invalid spec: ${spec}: invalid volume specification`);
  const [src = '', dst = '', mode = ''] = parts;
  const opts = mode ? mode.split(',') : [];
  for (const o of opts) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(o)) throw new InvalidParameterError(`invalid mode: ${mode}`);
  }
  checkDestination(dst, spec);
  const propagation = opts.find((o) => PROPAGATIONS.includes(o));
  const rw = !opts.includes('ro');
  const selinux = opts.filter((o) => o === 'z' || o === 'Z').join(',');
  if (src.startsWith('/')) {
    return { Type: 'bind', Source: cleanPath(src), Destination: cleanPath(dst), RW: rw, Mode: mode, Propagation: propagation ?? 'rprivate', CopyData: false, CreateSource: true };
  }
  if (!src) throw new InvalidParameterError(`invalid spec: ${spec}: empty section between colons`);
  if (propagation) throw new InvalidParameterError(`invalid mode: ${mode}`);
  return { Type: 'volume', Name: src, Source: '', Destination: cleanPath(dst), Driver: 'local', RW: rw, Mode: selinux, Propagation: '', CopyData: !opts.includes('nocopy') };
}

/** `--mount type=bind|volume|tmpfs,…` with dockerd's wording for its errors. */
export function parseMount(m: ApiMount): MountPoint {
  const type = m.Type ?? '';
  const target = m.Target ?? '';
  const bad = (msg: string) => new InvalidParameterError(`invalid mount config for type "${type}": ${msg}`);
  if (!target) throw bad('field Target must not be empty');
  checkDestination(target, target);
  switch (type) {
    case 'bind': {
      if (!m.Source) throw bad('field Source must not be empty');
      if (!m.Source.startsWith('/')) throw bad(`invalid mount path: '${m.Source}' mount path must be absolute`);
      if (!existsSync(m.Source) && !m.BindOptions?.CreateMountpoint) throw bad(`bind source path does not exist: ${m.Source}`);
      return { Type: 'bind', Source: cleanPath(m.Source), Destination: cleanPath(target), RW: !m.ReadOnly, Mode: '', Propagation: m.BindOptions?.Propagation || 'rprivate', CopyData: false, CreateSource: m.BindOptions?.CreateMountpoint === true };
    }
    case 'volume':
      return {
        Type: 'volume', Name: m.Source ?? '', Source: '', Destination: cleanPath(target), Driver: m.VolumeOptions?.DriverConfig?.Name || 'local',
        RW: !m.ReadOnly, Mode: '', Propagation: '', CopyData: m.VolumeOptions?.NoCopy !== true, Anonymous: !m.Source,
        DriverOpts: m.VolumeOptions?.DriverConfig?.Options ?? undefined, Labels: m.VolumeOptions?.Labels ?? undefined,
      };
    case 'tmpfs': {
      if (m.Source) throw bad('field Source must not be specified');
      const opts: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      return { Type: 'tmpfs', Source: '', Destination: cleanPath(target), RW: !m.ReadOnly, Mode: '', Propagation: '', CopyData: false, TmpfsOptions: opts };
    }
    default:
      throw new InvalidParameterError(`mount type unknown: "${type}"`);
  }
}

/** Go's filepath.Clean for absolute paths: no `.`, `..`, doubled or trailing slashes. */
function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function checkDestination(dst: string, spec: string): void {
  if (!dst.startsWith('/')) throw new InvalidParameterError(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${dst}' mount path must be absolute`);
  if (cleanPath(dst) === '/') throw new InvalidParameterError(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
}

/** The inspect / ps `Mounts` entry of a mount point. */
export function mountView(m: MountPoint): Record<string, unknown> {
  if (m.Type === 'volume') return { Type: 'volume', Name: m.Name, Source: m.Source, Destination: m.Destination, Driver: m.Driver ?? 'local', Mode: m.Mode, RW: m.RW, Propagation: m.Propagation };
  return { Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation };
}

export type { HostConfig };
