/**
 * dockerd's `--storage-opt dm.*` keys for devicemapper (deviceset.go
 * NewDeviceSet), their defaults and their error texts. dockerd ends two of
 * them ("Unknown option", "Unsupported filesystem") with a newline; it is
 * left out here so API error bodies stay one line.
 */
import { InvalidParameterError } from '../../kernel/index.js';
import { ramInBytes } from '../../lib/go-size.js';

export interface DmOptions {
  /** Sparse loop file sizes when no pool or devices are given (dockerd: 100G and 2G). */
  dataLoopbackSize: number;
  metaDataLoopbackSize: number;
  /** Size of the base device every layer is a snapshot of (dockerd: 10G). */
  baseFsSize: number;
  /** dm.basesize was given: an existing base device is grown to it. */
  userBaseSize: boolean;
  /** ext4 unless dm.fs says xfs; an existing base device keeps its own. */
  filesystem: 'ext4' | 'xfs';
  mkfsArgs: string[];
  mountOptions: string;
  dataDevice: string;
  metadataDevice: string;
  /** An existing pool (name under /dev/mapper) instead of loop files. */
  thinPoolDevice: string;
  blkDiscard: boolean;
  /** Pool block size in 512-byte sectors (dockerd: 128 = 64K). */
  thinpBlockSize: number;
  overrideUdevSyncCheck: boolean;
  /** undefined: on when the kernel and libdm support it, as dockerd. */
  deferredRemoval?: boolean;
  deferredDeletion?: boolean;
  minFreeSpacePercent: number;
  xfsNospaceRetries: string;
  libdmLogLevel?: number;
}

export const DEFAULTS = {
  dataLoopbackSize: 100 * 1024 ** 3,
  metaDataLoopbackSize: 2 * 1024 ** 3,
  baseFsSize: 10 * 1024 ** 3,
  thinpBlockSize: 128,
  minFreeSpacePercent: 10,
} as const;

/** The direct-lvm keys: dockerd builds a volume group and pool with LVM; Berth leaves that to the administrator. */
const DIRECT_LVM = new Set(['dm.directlvm_device', 'dm.directlvm_device_force', 'dm.thinp_percent', 'dm.thinp_metapercent', 'dm.thinp_autoextend_percent', 'dm.thinp_autoextend_threshold']);

export function parseDmOptions(opts: readonly string[]): DmOptions {
  const o: DmOptions = {
    dataLoopbackSize: DEFAULTS.dataLoopbackSize,
    metaDataLoopbackSize: DEFAULTS.metaDataLoopbackSize,
    baseFsSize: DEFAULTS.baseFsSize,
    userBaseSize: false,
    filesystem: 'ext4',
    mkfsArgs: [],
    mountOptions: '',
    dataDevice: '',
    metadataDevice: '',
    thinPoolDevice: '',
    blkDiscard: true,
    thinpBlockSize: DEFAULTS.thinpBlockSize,
    overrideUdevSyncCheck: false,
    minFreeSpacePercent: DEFAULTS.minFreeSpacePercent,
    xfsNospaceRetries: '',
  };
  let foundBlkDiscard = false;
  for (const opt of opts) {
    const { key: rawKey, value: val } = parseKeyValueOpt(opt);
    const key = rawKey.toLowerCase();
    switch (key) {
      case 'dm.basesize':
        o.baseFsSize = size(val);
        o.userBaseSize = true;
        break;
      case 'dm.loopdatasize':
        o.dataLoopbackSize = size(val);
        break;
      case 'dm.loopmetadatasize':
        o.metaDataLoopbackSize = size(val);
        break;
      case 'dm.fs':
        if (val !== 'ext4' && val !== 'xfs') throw new InvalidParameterError(`devmapper: Unsupported filesystem ${val}`);
        o.filesystem = val;
        break;
      case 'dm.mkfsarg':
        o.mkfsArgs.push(val);
        break;
      case 'dm.mountopt':
        o.mountOptions = joinMountOptions(o.mountOptions, val);
        break;
      case 'dm.metadatadev':
        o.metadataDevice = val;
        break;
      case 'dm.datadev':
        o.dataDevice = val;
        break;
      case 'dm.thinpooldev':
        o.thinPoolDevice = val.startsWith('/dev/mapper/') ? val.slice('/dev/mapper/'.length) : val;
        break;
      case 'dm.blkdiscard':
        foundBlkDiscard = true;
        o.blkDiscard = parseBool(val);
        break;
      case 'dm.blocksize':
        o.thinpBlockSize = Math.floor(size(val) / 512);
        break;
      case 'dm.override_udev_sync_check':
        o.overrideUdevSyncCheck = parseBool(val);
        break;
      case 'dm.use_deferred_removal':
        o.deferredRemoval = parseBool(val);
        break;
      case 'dm.use_deferred_deletion':
        o.deferredDeletion = parseBool(val);
        break;
      case 'dm.min_free_space': {
        if (!val.endsWith('%')) throw new InvalidParameterError('devmapper: Option dm.min_free_space requires % suffix');
        const pct = parseUint(val.slice(0, -1));
        if (pct >= 100) throw new InvalidParameterError(`devmapper: Invalid value ${val} for option dm.min_free_space`);
        o.minFreeSpacePercent = pct;
        break;
      }
      case 'dm.xfs_nospace_max_retries':
        parseUint(val);
        o.xfsNospaceRetries = val;
        break;
      case 'dm.libdm_log_level': {
        const level = Number(val);
        if (!/^[+-]?\d+$/.test(val)) throw new InvalidParameterError(`could not parse \`dm.libdm_log_level=${val}\`: strconv.ParseInt: parsing ${JSON.stringify(val)}: invalid syntax`);
        if (level < 2 || level > 7) throw new InvalidParameterError('dm.libdm_log_level must be in range [2,7]');
        o.libdmLogLevel = level;
        break;
      }
      default:
        if (DIRECT_LVM.has(key)) {
          throw new InvalidParameterError(`devmapper: ${key}: direct-lvm setup is not supported by berth; create an LVM thin pool and pass its name with dm.thinpooldev`);
        }
        throw new InvalidParameterError(`devmapper: Unknown option ${key}`);
    }
  }
  // As dockerd: discarding freed blocks is worth it for sparse loop files, rarely on real devices.
  if (!foundBlkDiscard && (o.dataDevice !== '' || o.thinPoolDevice !== '')) o.blkDiscard = false;
  return o;
}

/** dockerd's parsers.ParseKeyValueOpt. */
function parseKeyValueOpt(opt: string): { key: string; value: string } {
  const i = opt.indexOf('=');
  if (i < 0) throw new InvalidParameterError(`Unable to parse key/value option: ${opt}`);
  return { key: opt.slice(0, i).trim(), value: opt.slice(i + 1).trim() };
}

function size(val: string): number {
  try {
    return ramInBytes(val);
  } catch (err) {
    throw new InvalidParameterError((err as Error).message);
  }
}

/** strconv.ParseBool. */
export function parseBool(val: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(val)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(val)) return false;
  throw new InvalidParameterError(`strconv.ParseBool: parsing ${JSON.stringify(val)}: invalid syntax`);
}

function parseUint(val: string): number {
  if (!/^\d+$/.test(val)) throw new InvalidParameterError(`strconv.ParseUint: parsing ${JSON.stringify(val)}: invalid syntax`);
  return Number(val);
}

export function joinMountOptions(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return `${a},${b}`;
}
