import { statfs } from 'node:fs/promises';

/** statfs f_type magic numbers → the names dockerd prints as "Backing Filesystem" (moby graphdriver.FsNames). */
const FS_NAMES: Record<number, string> = {
  0x61756673: 'aufs',
  0x9123683e: 'btrfs',
  0x28cd3d45: 'cramfs',
  0xf15f: 'ecryptfs',
  0xef53: 'extfs',
  0xf2f52010: 'f2fs',
  0x65735546: 'fuse',
  0x47504653: 'gpfs',
  0x9660: 'isofs',
  0x6969: 'nfs',
  0x794c7630: 'overlayfs',
  0x858458f6: 'ramfs',
  0x52654973: 'reiserfs',
  0x517b: 'smb',
  0x73717368: 'squashfs',
  0x01021994: 'tmpfs',
  0x565a4653: 'vxfs',
  0x58465342: 'xfs',
  0x2fc12fc1: 'zfs',
};

/** The name of the filesystem holding `path`, "<unknown>" when not in the table (as dockerd). */
export async function backingFsName(path: string): Promise<string> {
  const st = await statfs(path);
  return FS_NAMES[Number(st.type) >>> 0] ?? '<unknown>';
}
