/**
 * Directories the tar applier has seen to be real directories (not
 * symlinks) all the way from the layer root, so entries inside them can be
 * created with no further checks. Paths are absolute and equal to the tar
 * entry's cleaned name joined to the root: a directory reached through a
 * symlink is never stored under the symlink's name, so a lookup by entry name
 * only hits when that name really is a chain of directories.
 *
 * Invariant: when a path is here, so are all its ancestors up to the root.
 * The applier is the only writer of the layer while it unpacks, and every
 * way it can turn a directory into something else (replacing it by a file,
 * link, symlink or device, a whiteout, an opaque marker) goes through its
 * removePath, which calls forget(): the set never vouches for a path that
 * changed since it was checked.
 */
export class VerifiedDirs {
  private readonly dirs = new Set<string>();

  constructor(private readonly root: string) {
    this.dirs.add(root);
  }

  has(abs: string): boolean {
    return this.dirs.has(abs);
  }

  /** Records `abs` (a real directory under root, as are all its ancestors: the caller checked). */
  add(abs: string): void {
    if (!abs.startsWith(this.root + '/')) return;
    let cur = abs;
    while (cur.length > this.root.length && !this.dirs.has(cur)) {
      this.dirs.add(cur);
      cur = cur.slice(0, cur.lastIndexOf('/'));
    }
  }

  /** `abs` was removed or replaced: drop it and everything below it. */
  forget(abs: string): void {
    if (!this.dirs.delete(abs)) return; // not a known directory, so nothing below it is known either
    const prefix = abs + '/';
    for (const d of this.dirs) if (d.startsWith(prefix)) this.dirs.delete(d);
  }
}
