/**
 * Whether a new regular file can be created with its final mode, saving the
 * fchmod after it (one inode change per file of a layer): only when the
 * process umask leaves the mode whole and it has no set-id or sticky bit
 * (the usual 0644/0755). Otherwise the file is created private and its mode
 * set after its owner (chown clears set-id bits). Used by the tar applier
 * and the vfs tree copy.
 */
export function modeAtCreate(mode: number, umask: number | null): boolean {
  return umask !== null && (mode & ~0o777) === 0 && (mode & umask) === 0;
}

/** process.umask() read without changing it; null where it cannot be read (every mode is then set explicitly). */
export function readUmask(): number | null {
  try {
    return process.umask();
  } catch {
    return null;
  }
}
