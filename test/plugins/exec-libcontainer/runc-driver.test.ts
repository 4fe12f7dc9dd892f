import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execDriverSuite } from '../../conformance/exec-driver.suite.js';
import { buildBusyboxRootfs, busyboxMissing } from '../../conformance/exec/busybox-rootfs.js';
import { removeCgroupParent } from '../../conformance/exec/cgroup-cleanup.js';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';
import { LibcontainerDriver } from '../../../plugins/exec-libcontainer/libcontainer-driver.js';
import { spawnHelper } from '../../../plugins/exec-libcontainer/spawn-helper.js';

const runc = findBinary('runc');
const crun = findBinary('crun');
const conmon = findBinary('conmon');
const socat = findBinary('socat');
const mkfifo = findBinary('mkfifo');

function open(runtime: string, path: string) {
  return async (root: string) =>
    new LibcontainerDriver({
      stateDir: join(root, 'state'),
      spoolDir: join(root, 'spool'),
      runtimeRoot: join(root, 'runtime'),
      runtimes: { runc: { path: runc ?? '/usr/sbin/runc' }, [runtime]: { path } },
      defaultRuntime: runtime,
      conmonPath: conmon!,
      socatPath: socat,
      mkfifoPath: mkfifo,
    });
}

const runtimeStateExists = (name: string) => async (root: string, id: string) => existsSync(join(root, 'runtime', name, id));

const missing = busyboxMissing() ?? (conmon ? undefined : 'conmon is not installed');

/**
 * crun refuses cgroup "hybrid" hosts whose v2 hierarchy has controllers
 * ("cgroups in hybrid mode not supported, drop all controllers from
 * cgroupv2"): probe once and skip with crun's own reason.
 */
async function crunProblem(): Promise<string | undefined> {
  if (!crun) return 'crun is not installed';
  if (missing) return missing;
  const dir = await mkdtemp(join(tmpdir(), 'berth-crun-probe-'));
  const parent = `/berth-probe-${process.pid}`;
  try {
    const driver = await open('crun', crun)(join(dir, 'driver'));
    const rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
    try {
      const t = await driver.create({ id: 'probe', rootfs, config: { Path: 'true', Args: [], Config: {}, HostConfig: { CgroupParent: parent, NetworkMode: 'none' } }, io: { terminal: false } });
      await t.delete({ force: true });
      return undefined;
    } catch (err) {
      return `crun cannot run containers on this host: ${(err as Error).message.trim()}`;
    } finally {
      await driver.dispose();
    }
  } finally {
    removeCgroupParent(parent);
    await rm(dir, { recursive: true, force: true });
  }
}

execDriverSuite('runc', open('runc', runc ?? '/usr/sbin/runc'), { skip: runc ? missing : 'runc is not installed', runtimeStateExists: runtimeStateExists('runc') });
execDriverSuite('crun', open('crun', crun ?? '/usr/bin/crun'), { skip: await crunProblem(), runtime: 'crun', runtimeStateExists: runtimeStateExists('crun') });

/**
 * conmon runs runc from the spawn helper's sealed memfd copy (conmon-monitor.ts), so that
 * `runc init` finds itself already sealed and skips its per-container bind mount and second
 * execve of itself: the container's conmon is handed /proc/<helper>/fd/<n>, a memfd with runc's
 * content and runc's four seals, and the container runs from it.
 */
describe('exec-libcontainer: runc handed to conmon as a sealed copy', { skip: !runc ? 'runc is not installed' : missing ?? (!spawnHelper.available() ? 'no perl: conmon is spawned directly' : false) }, () => {
  it('conmon gets /proc/<spawn helper>/fd/<n>, sealed, with runc\'s content, and the container runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sealed-runc-'));
    const parent = `/berth-sealed-${process.pid}`;
    const driver = await open('runc', runc!)(join(dir, 'driver'));
    try {
      const rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
      const id = `sealed${process.pid}`;
      const t = await driver.create({ id, rootfs, config: { Path: 'sleep', Args: ['30'], Config: {}, HostConfig: { CgroupParent: parent, NetworkMode: 'none' } }, io: { terminal: false } });
      try {
        await t.start();
        assert.equal(await t.status(), 'running');
        const conmonArgv = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
          try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'); } catch { return []; }
        }).find((argv) => argv[0]?.endsWith('conmon') && argv.includes(id));
        assert.ok(conmonArgv, 'the container\'s conmon runs');
        const runtime = conmonArgv[conmonArgv.indexOf('-r') + 1]!;
        assert.match(runtime, new RegExp(`^/proc/${spawnHelper.pid}/fd/\\d+$`));
        assert.match(readlinkSync(runtime), /^\/memfd:runc/);
        assert.ok(readFileSync(runtime).equals(readFileSync(runc!)), 'the copy holds runc');
        const seals = execFileSync('perl', ['-e', 'open(F, "<", $ARGV[0]) or die; print fcntl(F, 1034, 0)', runtime], { encoding: 'utf8' });
        assert.equal(seals, '15');
      } finally {
        await t.delete({ force: true });
      }
    } finally {
      await driver.dispose();
      removeCgroupParent(parent);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
