import { Dmsetup } from './dmsetup.js';
import { ToolError, type ToolRunner } from './tool-runner.js';
import { CommandMissingError } from '../graph-common/run-command.js';

/**
 * Why devicemapper cannot run on this host, or null when it can: it needs
 * root, the dmsetup tool, the kernel's device-mapper (/dev/mapper/control)
 * and its thin-pool target, loaded on demand with modprobe as dockerd's
 * libdm would. The reason ends up in SkipPlugin and so in the daemon's log
 * and plugin status.
 */
export async function devmapperUnsupported(run: ToolRunner): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'devicemapper needs root';
  const dm = new Dmsetup(run);
  let targets: string[];
  try {
    targets = await dm.targets();
  } catch (err) {
    if (err instanceof CommandMissingError) return 'dmsetup not found (install the Debian package "dmsetup")';
    if (err instanceof ToolError) return `the kernel has no device-mapper: dmsetup targets: ${oneLine(err.result.stderr || err.result.stdout)}`;
    throw err;
  }
  if (!targets.includes('thin-pool')) {
    await run('modprobe', ['dm_thin_pool']).catch(() => undefined);
    if (!(await dm.targets()).includes('thin-pool')) return 'the kernel has no device-mapper thin-pool target (module dm_thin_pool)';
  }
  return null;
}

/** dmsetup's first line says why ("/dev/mapper/control: open failed: No such device"); the rest is advice. */
function oneLine(text: string): string {
  return text.trim().split('\n').map((l) => l.trim()).find(Boolean) ?? 'failed';
}
