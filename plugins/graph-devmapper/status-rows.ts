import { humanSize } from '../../lib/go-size.js';
import type { DeviceSetStatus } from './device-set.js';

/**
 * The "Storage Driver: devicemapper" rows of `docker info`, in the order and
 * formats of dockerd 20.10's driver.go Status: device and loop-file rows only
 * when set (a dm.thinpooldev pool has neither).
 */
export function statusRows(s: DeviceSetStatus): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['Pool Name', s.poolName],
    ['Pool Blocksize', humanSize(s.sectorSize)],
    ['Base Device Size', humanSize(s.baseDeviceSize)],
    ['Backing Filesystem', s.baseDeviceFS],
    ['Udev Sync Supported', String(s.udevSyncSupported)],
  ];
  if (s.dataFile) rows.push(['Data file', s.dataFile]);
  if (s.metadataFile) rows.push(['Metadata file', s.metadataFile]);
  if (s.dataLoopback) rows.push(['Data loop file', s.dataLoopback]);
  if (s.metadataLoopback) rows.push(['Metadata loop file', s.metadataLoopback]);
  rows.push(
    ['Data Space Used', humanSize(s.data.used)],
    ['Data Space Total', humanSize(s.data.total)],
    ['Data Space Available', humanSize(s.data.available)],
    ['Metadata Space Used', humanSize(s.metadata.used)],
    ['Metadata Space Total', humanSize(s.metadata.total)],
    ['Metadata Space Available', humanSize(s.metadata.available)],
    ['Thin Pool Minimum Free Space', humanSize(s.minFreeSpace)],
    ['Deferred Removal Enabled', String(s.deferredRemoveEnabled)],
    ['Deferred Deletion Enabled', String(s.deferredDeleteEnabled)],
    ['Deferred Deleted Device Count', String(s.deferredDeletedDeviceCount)],
  );
  if (s.libraryVersion) rows.push(['Library Version', s.libraryVersion]);
  return rows;
}
