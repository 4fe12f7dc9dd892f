import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execDriverSuite } from '../../conformance/exec-driver.suite.js';
import { buildBusyboxRootfs, busyboxMissing } from '../../conformance/exec/busybox-rootfs.js';
import { removeCgroupParent } from '../../conformance/exec/cgroup-cleanup.js';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';
import { LibcontainerDriver } from '../../../plugins/exec-libcontainer/libcontainer-driver.js';

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
