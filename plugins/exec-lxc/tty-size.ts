import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ConflictError, type ConsoleSize } from '../../kernel/index.js';

/**
 * Resizes a TTY process: `stty -F <pty> rows H cols W` on the pty `script`
 * put between conmon and LXC (its path is in the `tty` file). The kernel then
 * sends SIGWINCH to lxc-start / lxc-attach, which copy the size to the
 * container's pty, and the container's foreground process gets its SIGWINCH.
 */
export async function resizeTty(ttyFile: string, size: ConsoleSize): Promise<void> {
  const tty = (await readFile(ttyFile, 'utf8').catch(() => '')).trim();
  if (!tty.startsWith('/dev/')) throw new ConflictError('the process is not running');
  const h = Math.max(0, Math.trunc(size.height));
  const w = Math.max(0, Math.trunc(size.width));
  await new Promise<void>((resolve, reject) => {
    execFile('stty', ['-F', tty, 'rows', String(h), 'cols', String(w)], { timeout: 10_000 }, (err, _o, stderr) => {
      if (err) reject(new ConflictError(`the process is not running: ${(stderr || err.message).trim()}`));
      else resolve();
    });
  });
}
