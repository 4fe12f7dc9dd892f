import { statSync } from 'node:fs';
import { delimiter, isAbsolute } from 'node:path';

/**
 * A regular file with an execute bit, as Go's exec.LookPath checks. statSync
 * with throwIfNoEntry: false, not accessSync: a missing candidate must not
 * cost a thrown error with its stack trace, and a binary is looked up along
 * every PATH directory before the one that has it (~1 ms per lookup at
 * start-up before).
 */
function executable(p: string): boolean {
  try {
    const st = statSync(p, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false; // EACCES, ENOTDIR: not usable either
  }
}

/**
 * Looks a binary up like exec.LookPath: absolute paths as they are, names
 * along PATH and then `extraDirs`. Each directory is tried once (PATH often
 * repeats the standard directories appended here), and candidates are
 * `dir/name` without path.join: the exec drivers look up ~25 names while
 * they activate, on the daemon's start-up path, and normalising every
 * candidate cost more than the stat calls.
 */
export function findBinary(name: string, extraDirs: readonly string[] = []): string | undefined {
  if (isAbsolute(name)) return executable(name) ? name : undefined;
  const dirs = new Set([...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...extraDirs]);
  for (const d of dirs) {
    // A relative PATH entry stays relative, as exec.LookPath leaves it; a trailing slash is not doubled.
    const p = d.endsWith('/') ? d + name : `${d}/${name}`;
    if (executable(p)) return p;
  }
  return undefined;
}
