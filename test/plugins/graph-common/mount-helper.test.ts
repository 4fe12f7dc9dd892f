import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MNT_DETACH, MountSyscallError, mountHelper } from '../../../plugins/graph-common/mount-helper.js';

async function mountedAt(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === path);
}

const skip = process.getuid?.() !== 0 ? 'needs root (mount)' : !mountHelper.available() ? 'no perl or unknown syscall numbers here' : false;

describe('graph-common mount helper (mount(2)/umount2(2) without a process per call)', { skip }, () => {
  const dirs: string[] = [];
  after(async () => {
    mountHelper.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-mount-helper-'));
    dirs.push(d);
    return d;
  };

  it('mounts and unmounts, and answers the kernel\'s errno when a call fails', async () => {
    const d = await tempDir();
    await mountHelper.mount('tmpfs', d, 'tmpfs', 0, 'size=1m,mode=0700');
    try {
      assert.equal(await mountedAt(d), true);
      await writeFile(join(d, 'f'), 'on tmpfs');
    } finally {
      await mountHelper.umount(d);
    }
    assert.equal(await mountedAt(d), false);
    const notMounted = await mountHelper.umount(d).then(() => undefined, (e: unknown) => e);
    assert.ok(notMounted instanceof MountSyscallError);
    assert.equal(notMounted.code, 'EINVAL');
    const badFs = await mountHelper.mount('x', d, 'no-such-fs-berth', 0, '').then(() => undefined, (e: unknown) => e);
    assert.ok(badFs instanceof MountSyscallError);
    assert.equal(badFs.code, 'ENODEV');
  });

  it('mounts relative to a working directory; odd bytes in paths go through', async () => {
    const d = await tempDir();
    const name = 'a dir, with: "odd"\nbytes';
    await mkdir(join(d, name));
    await mountHelper.mount('tmpfs', name, 'tmpfs', 0, 'size=1m', d);
    assert.equal(await readFile('/proc/self/mountinfo', 'utf8').then((t) => t.includes('\\012bytes')), true, 'the newline is in the mount point');
    await mountHelper.umount(join(d, name), MNT_DETACH);
    await assert.rejects(mountHelper.umount(join(d, name)), (e: unknown) => e instanceof MountSyscallError && e.code === 'EINVAL');
  });

  it('serves side-by-side calls in order, and starts again after the helper died', async () => {
    const d = await tempDir();
    const points = await Promise.all([1, 2, 3, 4].map(async (i) => {
      const p = join(d, String(i));
      await mkdir(p);
      return p;
    }));
    await Promise.all(points.map((p) => mountHelper.mount('tmpfs', p, 'tmpfs', 0, 'size=1m')));
    for (const p of points) assert.equal(await mountedAt(p), true);
    const pid = mountHelper.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    await Promise.all(points.map((p) => mountHelper.umount(p)));
    assert.notEqual(mountHelper.pid, pid);
    for (const p of points) assert.equal(await mountedAt(p), false);
  });

  it('answers each side-by-side mount and unmount its own result, unmounts finishing in any order', async () => {
    const d = await tempDir();
    const points = await Promise.all([1, 2, 3, 4, 5, 6].map(async (i) => {
      const p = join(d, String(i));
      await mkdir(p);
      return p;
    }));
    const [a, b, c, e, f, g] = points as [string, string, string, string, string, string];
    await Promise.all([a, b, c].map((p) => mountHelper.mount('tmpfs', p, 'tmpfs', 0, 'size=1m')));
    // Unmounts of mounted and of unmounted points, and mounts, all in flight together.
    const results = await Promise.all([
      mountHelper.umount(a).then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.umount(e).then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.mount('tmpfs', f, 'tmpfs', 0, 'size=1m').then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.umount(b).then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.mount('x', g, 'no-such-fs-berth', 0, '').then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.umount(c, MNT_DETACH).then(() => 'ok', (err: MountSyscallError) => err.code),
      mountHelper.umount(join(d, 'missing')).then(() => 'ok', (err: MountSyscallError) => err.code),
    ]);
    assert.deepEqual(results, ['ok', 'EINVAL', 'ok', 'ok', 'ENODEV', 'ok', 'ENOENT']);
    for (const p of [a, b, c, e, g]) assert.equal(await mountedAt(p), false, p);
    assert.equal(await mountedAt(f), true);
    await mountHelper.umount(f);
    assert.equal(await mountedAt(f), false);
  });
});

describe('graph-common mount helper opt-out', () => {
  it('is not used with BERTH_MOUNT_HELPER=0 (util-linux mount and umount are spawned instead)', () => {
    const saved = process.env.BERTH_MOUNT_HELPER;
    process.env.BERTH_MOUNT_HELPER = '0';
    try {
      assert.equal(mountHelper.available(), false);
    } finally {
      if (saved === undefined) delete process.env.BERTH_MOUNT_HELPER;
      else process.env.BERTH_MOUNT_HELPER = saved;
    }
  });
});
