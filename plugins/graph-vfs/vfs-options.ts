import { InvalidParameterError } from '../../kernel/index.js';
import { parseRamSize, parseStorageOpt } from '../graph-common/storage-opts.js';

export interface VfsOptions {
  /** `vfs.xattrs=i_want_broken_containers`: a layer xattr that cannot be set is dropped instead of failing the pull. */
  bestEffortXattrs: boolean;
  /** `size=`: default quota per layer. Berth has no quota support for vfs, so any size is refused. */
  size: number;
}

/** The quota error dockerd returns (quota.ErrQuotaNotSupported). */
export const QUOTA_NOT_SUPPORTED = 'Filesystem does not support, or has not enabled quotas';

/** Parses daemon `storage-opts` for vfs with dockerd's keys and wording (vfs.parseOptions). */
export function parseVfsOptions(opts: readonly string[]): VfsOptions {
  const out: VfsOptions = { bestEffortXattrs: false, size: 0 };
  for (const opt of opts) {
    const { key, value } = parseStorageOpt(opt);
    switch (key) {
      case 'size':
        out.size = parseRamSize(value);
        break;
      case 'vfs.xattrs':
        if (value !== 'i_want_broken_containers') {
          throw new InvalidParameterError('do not set the vfs.xattrs option unless you are willing to accept the consequences');
        }
        out.bestEffortXattrs = true;
        break;
      default:
        throw new InvalidParameterError(`unknown option ${key} for vfs`);
    }
  }
  if (out.size > 0) throw new InvalidParameterError(QUOTA_NOT_SUPPORTED);
  return out;
}
