/**
 * AUFS-style whiteout names, the on-the-wire format of every Docker layer tar
 * (moby pkg/archive): a deleted `dir/name` travels as an empty `dir/.wh.name`,
 * and `dir/.wh..wh..opq` says "hide everything the lower layers had in dir".
 */
export const WHITEOUT_PREFIX = '.wh.';
/** Names starting with this are AUFS metadata (`.wh..wh.plnk`, …), never content. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE_DIR = '.wh..wh..opq';

/** overlayfs marks an opaque upper directory with this xattr set to "y" (as root; rootless uses user.overlay.*). */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** overlayfs' own bookkeeping xattrs (origin, redirect, opaque, metacopy…) must never leak into a layer tar. */
export function isOverlayPrivateXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** xattrs that describe the host, not the layer: SELinux labels are re-applied by the host policy. */
export function isHostOnlyXattr(name: string): boolean {
  return name === 'security.selinux' || isOverlayPrivateXattr(name);
}
