import { InvalidParameterError } from '../../kernel/index.js';
import { humanSize, ramInBytes } from '../../lib/go-size.js';
import { parseStorageOpt } from '../graph-common/storage-opts.js';

export interface BtrfsOptions {
  /** `btrfs.min_space`: the smallest `--storage-opt size=` accepted; setting it turns quotas on at start (as dockerd). */
  minSpace: number;
  /** Whether a daemon option asked for quotas (dockerd's userDiskQuota). */
  quota: boolean;
}

/** go-units errors are the client's fault; dockerd passes their text through. */
function size(value: string): number {
  try {
    return ramInBytes(value);
  } catch (err) {
    throw new InvalidParameterError((err as Error).message);
  }
}

/** Daemon `storage-opts` for btrfs with dockerd's keys and wording (btrfs.parseOptions). */
export function parseBtrfsOptions(opts: readonly string[]): BtrfsOptions {
  const out: BtrfsOptions = { minSpace: 0, quota: false };
  for (const opt of opts) {
    const { key: raw, value } = parseStorageOpt(opt);
    const key = raw.toLowerCase();
    switch (key) {
      case 'btrfs.min_space':
        out.minSpace = size(value);
        out.quota = true;
        break;
      default:
        throw new InvalidParameterError(`Unknown option ${key}`);
    }
  }
  return out;
}

/**
 * A layer's `--storage-opt` map (only `size` exists for btrfs), checked as
 * dockerd's parseStorageOpt + setStorageSize do. Returns the quota in bytes,
 * or null when no size was asked for.
 */
export function layerQuota(storageOpt: Record<string, string> | undefined, minSpace: number): number | null {
  let bytes: number | null = null;
  for (const [raw, value] of Object.entries(storageOpt ?? {})) {
    const key = raw.toLowerCase();
    // dockerd ignores other keys when no size is given; Berth refuses them rather than succeed silently.
    if (key !== 'size') throw new InvalidParameterError(`Unknown option ${key}`);
    bytes = size(value);
  }
  if (bytes === null) return null;
  if (bytes === 0) throw new InvalidParameterError(`btrfs: invalid storage size: ${humanSize(bytes)}`);
  if (minSpace > 0 && bytes < minSpace) throw new InvalidParameterError(`btrfs: storage size cannot be less than ${humanSize(minSpace)}`);
  return bytes;
}
