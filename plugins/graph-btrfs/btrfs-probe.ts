import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { backingFsName } from '../graph-common/backing-fs.js';
import { CommandMissingError, runCommand } from '../graph-common/run-command.js';

const BTRFS_MAGIC = 0x9123683e;

/**
 * Why btrfs cannot serve `home` (`<data-root>/btrfs`), or null when it can.
 * As dockerd, `home` itself is tested when it exists (it may be a separate
 * btrfs mount), else its parent, the data root.
 */
export async function probeBtrfs(home: string): Promise<string | null> {
  const testdir = (await stat(home).catch(() => null)) ? home : dirname(home);
  let magic: number;
  try {
    magic = Number((await statfs(testdir)).type) >>> 0;
  } catch (err) {
    return `cannot stat ${testdir}: ${(err as Error).message}`;
  }
  if (magic !== BTRFS_MAGIC) {
    return `prerequisites for driver not satisfied (wrong filesystem?): ${testdir} is not a btrfs filesystem (it is ${await backingFsName(testdir)})`;
  }
  try {
    await runCommand('btrfs', ['--version']);
  } catch (err) {
    if (err instanceof CommandMissingError) return 'the btrfs command (btrfs-progs) is not installed';
    throw err;
  }
  return null;
}
