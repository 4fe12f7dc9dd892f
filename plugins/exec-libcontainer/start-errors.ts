import { TaskStartError } from '../../kernel/index.js';

/**
 * dockerd's translateContainerdStartErr: a start failure that names the
 * command and says it is not found becomes exit code 127, "permission denied"
 * 126, a file/directory mount mix-up 127 with dockerd's hint; anything else
 * stays as it was.
 */
export function translateStartError(cmd: string, err: unknown): unknown {
  const msg = err instanceof Error ? err.message : String(err);
  const lower = msg.toLowerCase();
  if (lower.includes(cmd.toLowerCase()) && (lower.includes('executable file not found') || lower.includes('no such file or directory'))) {
    return new TaskStartError(msg, 127, { cause: err });
  }
  if (lower.includes('permission denied')) return new TaskStartError(msg, 126, { cause: err });
  if (lower.includes('not a directory')) {
    return new TaskStartError(`${msg}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`, 127, { cause: err });
  }
  return err;
}
