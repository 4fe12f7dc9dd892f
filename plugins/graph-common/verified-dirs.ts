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
 *
 * Each directory may also carry whether its group is root (gid 0), when
 * known: a new entry takes either its creator's group or, in a set-group-ID
 * directory (or on a `grpid` mount), the directory's; with both 0 it is 0
 * either way.
 */
export class VerifiedDirs {
  /** Path → group is root (undefined: not known). */
  private readonly dirs = new Map<string, boolean | undefined>();

  constructor(private readonly root: string, rootGroupIsRoot?: boolean) {
    this.dirs.set(root, rootGroupIsRoot);
  }

  has(abs: string): boolean {
    return this.dirs.has(abs);
  }

  /** Whether a known directory's group is root; undefined when unknown. */
  groupIsRoot(abs: string): boolean | undefined {
    return this.dirs.get(abs);
  }

  /**
   * Records `abs` (a real directory under root, as are all its ancestors: the
   * caller checked), with whether its group is root when known.
   */
  add(abs: string, groupIsRoot?: boolean): void {
    if (!abs.startsWith(this.root + '/')) {
      if (abs === this.root && groupIsRoot !== undefined) this.dirs.set(abs, groupIsRoot);
      return;
    }
    this.dirs.set(abs, groupIsRoot);
    let cur = abs.slice(0, abs.lastIndexOf('/'));
    while (cur.length > this.root.length && !this.dirs.has(cur)) {
      this.dirs.set(cur, undefined);
      cur = cur.slice(0, cur.lastIndexOf('/'));
    }
  }

  /** `abs` was removed or replaced: drop it and everything below it. */
  forget(abs: string): void {
    if (!this.dirs.delete(abs)) return; // not a known directory, so nothing below it is known either
    const prefix = abs + '/';
    for (const d of this.dirs.keys()) if (d.startsWith(prefix)) this.dirs.delete(d);
  }
}
