import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Paths of dockerd's overlay2 layout (see the header of overlay-driver.ts).
 *
 * Why short links: the mount(2) data of an overlay mount must fit in one page
 * (4096 bytes on x86). Absolute lower paths (`<root>/<64-hex id>/diff`) cost
 * ~100 bytes each, so only ~40 layers would fit. `l/<LINK>` symlinks cost
 * 29 bytes per lower (`l/` + 26 + `:`), so ~135 fit when the mount is made
 * relative to the root dir.
 */
export const LINK_DIR = 'l';
/** 16 random bytes in base32: 26 characters, as dockerd's idLength. */
export const LINK_ID_LENGTH = 26;
/** Kernel limit on lower layers (OVL_MAX_STACK). */
export const MAX_LOWERS = 500;
/** mount(2) copies at most one page of option data; 4096 is the smallest page size Linux uses. */
export const MOUNT_DATA_LIMIT = 4096 - 1;

export class OverlayLayout {
  constructor(readonly root: string) {}

  /**
   * A layer's `link` and `lower` never change once it is created, and every
   * container start, exit and removal reads them (a file read is four
   * thread-pool round trips): kept once written or read, dropped with the layer.
   */
  private readonly known = new Map<string, { link?: string; lowers?: string[] }>();

  /** Records what `create` just wrote. */
  remember(id: string, link: string, lowers: string[]): void {
    this.known.set(id, { link, lowers: [...lowers] });
  }

  /** Drops what is kept of a layer being removed. */
  forget(id: string): void {
    this.known.delete(id);
  }

  dir(id: string): string { return join(this.root, id); }
  diff(id: string): string { return join(this.root, id, 'diff'); }
  work(id: string): string { return join(this.root, id, 'work'); }
  merged(id: string): string { return join(this.root, id, 'merged'); }
  linkFile(id: string): string { return join(this.root, id, 'link'); }
  lowerFile(id: string): string { return join(this.root, id, 'lower'); }
  /** Present when the layer is mounted `volatile` (Berth's own marker; dockerd has no such layers). */
  volatileFile(id: string): string { return join(this.root, id, 'volatile'); }
  linkDir(): string { return join(this.root, LINK_DIR); }
  /** `l/<LINK>` as written into `lower` files and relative mounts. */
  linkEntry(link: string): string { return `${LINK_DIR}/${link}`; }

  /** The `l/<LINK>` entries of id's lower layers, nearest parent first; empty for a base layer. */
  async lowers(id: string): Promise<string[]> {
    const kept = this.known.get(id)?.lowers;
    if (kept) return [...kept];
    try {
      const text = (await readFile(this.lowerFile(id), 'utf8')).trim();
      const lowers = text ? text.split(':') : [];
      // A missing file (a base layer, or no layer at all) is not kept: only what was read.
      this.known.set(id, { ...this.known.get(id), lowers });
      return [...lowers];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async link(id: string): Promise<string> {
    const kept = this.known.get(id)?.link;
    if (kept) return kept;
    const link = (await readFile(this.linkFile(id), 'utf8')).trim();
    if (link) this.known.set(id, { ...this.known.get(id), link });
    return link;
  }

  /** The layer id an `l/<LINK>` entry points at (its symlink reads `../<id>/diff`). */
  async idOfLinkEntry(entry: string): Promise<string> {
    const target = await readlink(join(this.root, entry));
    return basename(dirname(target));
  }
}

export function newLinkId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of randomBytes(16)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out.slice(0, LINK_ID_LENGTH);
}
