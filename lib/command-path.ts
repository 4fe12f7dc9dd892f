import { statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

const resolved = new Map<string, string>();

/**
 * The absolute path of a command, looked up along PATH once per name. A
 * bare name makes every spawn repeat execvp's walk (one failing execve per
 * PATH directory before the right one: nine for `mount` on a developer's
 * PATH) on the run path of every container start and exit. A name not found
 * is left bare, so spawning it still fails with ENOENT (CommandMissingError);
 * a cached path that vanished is looked up again next time.
 */
export function commandPath(cmd: string): string {
  if (isAbsolute(cmd) || cmd.includes('/')) return cmd;
  let path = resolved.get(cmd);
  if (path === undefined) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir || !isAbsolute(dir)) continue;
      const candidate = join(dir, cmd);
      let st;
      try {
        st = statSync(candidate, { throwIfNoEntry: false });
      } catch {
        continue; // EACCES, ENOTDIR: not usable, as for execvp
      }
      if (st?.isFile() && (st.mode & 0o111) !== 0) {
        path = candidate;
        break;
      }
    }
    if (path === undefined) return cmd;
    resolved.set(cmd, path);
  }
  return path;
}

/** A spawn of the cached path failed with ENOENT: look the name up again next time. */
export function forgetCommandPath(cmd: string): void {
  resolved.delete(cmd);
}
