/** Pairs of mount flags where the later one wins (moby's MergeTmpfsOptions). */
const OPPOSITES: Record<string, string> = {
  exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev',
  ro: 'rw', rw: 'ro', atime: 'noatime', noatime: 'atime', diratime: 'nodiratime', nodiratime: 'diratime',
};

/**
 * Merges tmpfs options left to right: a later flag replaces its opposite
 * (`exec` after the default `noexec`), a later `key=value` replaces the same
 * key, propagation flags keep the last; order of first appearance is kept.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const out: string[] = [];
  const propagation = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
  for (const raw of options) {
    const opt = raw.trim();
    if (!opt) continue;
    const eq = opt.indexOf('=');
    let i = -1;
    if (eq > 0) {
      const key = opt.slice(0, eq + 1);
      i = out.findIndex((o) => o.startsWith(key));
    } else if (OPPOSITES[opt]) {
      i = out.findIndex((o) => o === opt || o === OPPOSITES[opt]);
    } else if (propagation.has(opt)) {
      i = out.findIndex((o) => propagation.has(o));
    } else {
      i = out.indexOf(opt);
    }
    if (i >= 0) out[i] = opt;
    else out.push(opt);
  }
  return out;
}
