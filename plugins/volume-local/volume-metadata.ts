import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, type Logger } from '../../kernel/index.js';
import type { MountOptions } from './local-options.js';

/**
 * A local volume on disk, laid out as dockerd's local driver does:
 *
 *   <data-root>/volumes/<name>/_data          the data (or the mount point)
 *   <data-root>/volumes/<name>/opts.json      mount options (optsConfig), only when given
 *   <data-root>/volumes/<name>/metadata.json  what dockerd keeps in volumes/metadata.db:
 *                                             driver, labels, options, plus the creation time
 *
 * One small JSON file per volume instead of a bolt database: each is written
 * atomically (temp file, fsync, rename), so a crash leaves the old or the new
 * content and at worst a stray temp file, which restore ignores and removes.
 */
export const DATA_DIR = '_data';
export const OPTS_FILE = 'opts.json';
export const METADATA_FILE = 'metadata.json';

/** writeFileAtomic's temp names: `.<file>.<pid>.<ms>.tmp`. */
const LEFTOVER_TEMP = /^\.(?:opts|metadata)\.json\..+\.tmp$/;

export interface VolumeMetadata {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  /** The exact creation instant, ISO 8601 UTC; the API prints it in local time. */
  CreatedAt: string;
}

export async function writeVolumeMetadata(volumeDir: string, meta: VolumeMetadata): Promise<void> {
  await writeFileAtomic(join(volumeDir, METADATA_FILE), JSON.stringify(meta), 0o600);
}

/** saveOpts: dockerd's file and mode, so the layout stays recognisable. */
export async function writeMountOptions(volumeDir: string, opts: MountOptions): Promise<void> {
  await writeFileAtomic(join(volumeDir, OPTS_FILE), JSON.stringify(opts), 0o600);
}

/**
 * Every volume under `root`. A directory counts when it has `_data`,
 * `opts.json` or `metadata.json` (dockerd's isVolume, plus our file); a volume
 * whose metadata is missing or torn is restored from `opts.json` and the
 * directory's change time, as dockerd would know it.
 */
export async function loadVolumes(root: string, log: Logger): Promise<VolumeMetadata[]> {
  const out: VolumeMetadata[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    const files = await readdir(dir);
    for (const f of files.filter((f) => LEFTOVER_TEMP.test(f))) {
      await unlink(join(dir, f)).catch(() => {});
      log.info('removed a metadata temp file left by a crash', { volume: entry.name, file: f });
    }
    if (![DATA_DIR, OPTS_FILE, METADATA_FILE].some((f) => files.includes(f))) {
      log.debug('skipping non-volume directory', { volume: entry.name });
      continue;
    }
    out.push(await loadOne(dir, entry.name, files, log));
  }
  return out;
}

async function loadOne(dir: string, name: string, files: string[], log: Logger): Promise<VolumeMetadata> {
  if (files.includes(METADATA_FILE)) {
    try {
      const m = JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')) as VolumeMetadata;
      if (typeof m.CreatedAt === 'string' && !Number.isNaN(Date.parse(m.CreatedAt))) {
        return { Name: name, Driver: m.Driver || 'local', Labels: m.Labels ?? null, Options: m.Options ?? null, CreatedAt: m.CreatedAt };
      }
    } catch (err) {
      log.warn('volume metadata unreadable, restoring from the volume directory', { volume: name, error: err });
    }
  }
  return { Name: name, Driver: 'local', Labels: null, Options: await optionsFromOptsFile(dir, files), CreatedAt: (await stat(dir)).ctime.toISOString() };
}

/** The driver options back from dockerd's optsConfig (type, o, device). */
async function optionsFromOptsFile(dir: string, files: string[]): Promise<Record<string, string> | null> {
  if (!files.includes(OPTS_FILE)) return null;
  try {
    const o = JSON.parse(await readFile(join(dir, OPTS_FILE), 'utf8')) as Partial<MountOptions> | null;
    if (!o) return null;
    const opts: Record<string, string> = {};
    if (o.MountType) opts.type = o.MountType;
    if (o.MountOpts) opts.o = o.MountOpts;
    if (o.MountDevice) opts.device = o.MountDevice;
    return Object.keys(opts).length ? opts : null;
  } catch {
    return null;
  }
}
