import { InvalidParameterError } from '../../kernel/index.js';
import { parseRamSize, parseStorageOpt } from '../graph-common/storage-opts.js';

export interface OverlayOptions {
  /** `overlay2.size`: default quota for container layers (needs xfs project quotas). */
  size: number;
}

/** Daemon `storage-opts` for overlay2, with dockerd's keys and wording (overlay2.parseOptions). */
export function parseOverlayOptions(opts: readonly string[]): OverlayOptions {
  const out: OverlayOptions = { size: 0 };
  for (const opt of opts) {
    const { key: rawKey, value } = parseStorageOpt(opt);
    const key = rawKey.toLowerCase();
    switch (key) {
      case 'overlay2.size':
        out.size = parseRamSize(value);
        break;
      default:
        throw new InvalidParameterError(`overlay2: unknown option ${key}`);
    }
  }
  return out;
}

/**
 * Quotas need xfs project quotas, which Berth does not drive yet: refuse the
 * option the way dockerd does on a filesystem without them.
 */
export function checkQuotaSupport(options: OverlayOptions, backingFs: string): void {
  if (options.size === 0) return;
  if (backingFs !== 'xfs') throw new InvalidParameterError(`Storage Option overlay2.size only supported for backingFS XFS. Found ${backingFs}`);
  throw new InvalidParameterError('Storage option overlay2.size not supported. Filesystem does not support Project Quota: project quotas are not implemented by berth');
}
