import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../../kernel/index.js';
import type { OciDevice, OciDeviceRule } from './oci-types.js';

/** Major/minor of a Linux dev_t (glibc's gnu_dev_major/minor), from a BigInt rdev. */
export function devNumbers(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

async function deviceAt(path: string, inContainer: string): Promise<OciDevice | undefined> {
  const st = await stat(path, { bigint: true });
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : undefined;
  if (!type) return undefined;
  const { major, minor } = devNumbers(st.rdev);
  return { type, path: inContainer, major, minor, fileMode: Number(st.mode & 0o777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/**
 * `--device /dev/x[:/dev/y[:rwm]]` → device nodes and cgroup rules (moby
 * DevicesFromPath): a device file, or every device under a directory.
 */
export async function devicesFromPath(onHost: string, inContainer: string, permissions: string): Promise<{ devices: OciDevice[]; rules: OciDeviceRule[] }> {
  const devices: OciDevice[] = [];
  const st = await stat(onHost).catch(() => {
    throw new InvalidParameterError(`error gathering device information while adding custom device "${onHost}": no such file or directory`);
  });
  if (st.isDirectory()) {
    for (const d of await walkDevices(onHost)) {
      const dev = await deviceAt(d, join(inContainer || onHost, d.slice(onHost.length)));
      if (dev) devices.push(dev);
    }
  } else {
    const dev = await deviceAt(onHost, inContainer || onHost);
    if (!dev) throw new InvalidParameterError(`error gathering device information while adding custom device "${onHost}": not a device node`);
    devices.push(dev);
  }
  const rules = devices.filter((d) => d.type !== 'p').map((d): OciDeviceRule => ({ allow: true, type: d.type as 'c' | 'b', major: d.major, minor: d.minor, access: permissions || 'rwm' }));
  return { devices, rules };
}

/** Every device node of the host for `--privileged` (containerd's HostDevices, skipping /dev/pts, shm, mqueue, console). */
export async function hostDevices(): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  for (const p of await walkDevices('/dev', new Set(['/dev/pts', '/dev/shm', '/dev/fd', '/dev/mqueue', '/dev/.lxc', '/dev/.udev']))) {
    if (p === '/dev/console') continue;
    const dev = await deviceAt(p, p).catch(() => undefined);
    if (dev && dev.type !== 'p') out.push(dev);
  }
  return out;
}

async function walkDevices(dir: string, skip = new Set<string>()): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name);
    if (skip.has(p)) continue;
    const st = await lstat(p).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) out.push(...(await walkDevices(p, skip)));
    else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) out.push(p);
  }
  return out;
}
