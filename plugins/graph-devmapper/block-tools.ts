/**
 * The non-dm tools the driver needs, as dockerd used them: loop devices for
 * sparse files (pkg/loopback, here util-linux losetup), mkfs + tune2fs for
 * the base device, blkid for its UUID and filesystem, resize2fs/xfs_growfs
 * for a larger --storage-opt size, blkdiscard to hand freed blocks back to a
 * sparse file, mount/umount.
 */
import { ToolError, runTool, type ToolRunner } from './tool-runner.js';

export class BlockTools {
  constructor(private readonly run: ToolRunner) {}

  /** Attaches a loop device to file, reusing one already attached to it (`--nooverlap`), and returns its path. */
  async attachLoop(file: string): Promise<string> {
    return (await runTool(this.run, 'losetup', ['--find', '--show', '--nooverlap', file])).stdout.trim();
  }

  /** Loop devices backed by file (`losetup -j`). */
  async loopsOf(file: string): Promise<string[]> {
    const r = await this.run('losetup', ['--associated', file, '--noheadings', '--output', 'NAME']);
    if (r.code !== 0) return [];
    return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  async detachLoop(dev: string): Promise<void> {
    await runTool(this.run, 'losetup', ['--detach', dev]);
  }

  /** Size of a block device in bytes. */
  async deviceSize(dev: string): Promise<number> {
    return Number((await runTool(this.run, 'blockdev', ['--getsize64', dev])).stdout.trim());
  }

  /**
   * dockerd's createFilesystem: ext4 with every inode table and the journal
   * written now (no lazy init racing a container), checks off. Returns the
   * new filesystem's UUID when mkfs printed it (saves a blkid run), else "".
   */
  async mkfs(fs: 'ext4' | 'xfs', dev: string, extraArgs: string[]): Promise<string> {
    if (fs === 'xfs') {
      await runTool(this.run, 'mkfs.xfs', [...extraArgs, dev]);
      return '';
    }
    let out: string;
    try {
      out = (await runTool(this.run, 'mkfs.ext4', ['-E', 'nodiscard,lazy_itable_init=0,lazy_journal_init=0', ...extraArgs, dev])).stdout;
    } catch {
      // Older mke2fs knows no lazy_journal_init.
      out = (await runTool(this.run, 'mkfs.ext4', ['-E', 'nodiscard,lazy_itable_init=0', ...extraArgs, dev])).stdout;
    }
    await runTool(this.run, 'tune2fs', ['-c', '-1', '-i', '0', dev]);
    return /^Filesystem UUID:\s*(\S+)/m.exec(out)?.[1] ?? '';
  }

  /** A tag of the filesystem on dev, probed afresh (`-c /dev/null`: blkid's cache may describe an older device of the same name). */
  async blkid(dev: string, tag: 'UUID' | 'TYPE'): Promise<string> {
    const r = await this.run('blkid', ['-c', '/dev/null', '-s', tag, '-o', 'value', dev]);
    if (r.code !== 0) {
      if (tag === 'TYPE') throw new Error(`devmapper: Unknown filesystem type on ${dev}`);
      throw new Error(`devmapper: Failed to find uuid for device ${dev}:exit status ${r.code}`);
    }
    return r.stdout.trim();
  }

  async mount(dev: string, target: string, fstype: string, options: string): Promise<void> {
    const args = ['-t', fstype, ...(options ? ['-o', options] : []), dev, target];
    try {
      await runTool(this.run, 'mount', args);
    } catch (err) {
      throw new Error(`devmapper: Error mounting '${dev}' on '${target}': ${(err as ToolError).result?.stderr ?? (err as Error).message}`);
    }
  }

  /** Unmounts; a busy mount is detached lazily (dockerd's MNT_DETACH). "Not mounted" is fine. */
  async unmount(target: string): Promise<void> {
    const r = await this.run('umount', [target]);
    if (r.code === 0 || /not mounted|no mount point/i.test(r.stderr)) return;
    await runTool(this.run, 'umount', ['-l', target]).catch((err: ToolError) => {
      if (!/not mounted|no mount point/i.test(err.result.stderr)) throw err;
    });
  }

  async growFs(fs: string, dev: string, mountPoint: string): Promise<void> {
    const [cmd, arg] = fs === 'xfs' ? ['xfs_growfs', mountPoint] : ['resize2fs', dev];
    try {
      await runTool(this.run, cmd!, [arg!]);
    } catch (err) {
      throw new Error(`Failed to grow rootfs:${(err as Error).message}`);
    }
  }

  /** Discards every block of dev (frees them in the pool and, through the loop device, in the sparse file). */
  async discard(dev: string): Promise<void> {
    await runTool(this.run, 'blkdiscard', [dev]);
  }
}
