/**
 * End to end on devicemapper inside the dmvm VM: berthd with
 * `"storage-driver": "devicemapper"` on a tmpfs data root, the real docker
 * CLI: `docker import` (the busybox image), `docker run`, `docker info`,
 * inspect's GraphDriver; the container scenario set (run, logs, exec, stop,
 * cp, commit; lean: one daemon, the graph-driver part only); an lxc container
 * killed by the OOM killer on this guest's pure cgroup v2 (the host is v1);
 * and after the daemon stops, no device-mapper device or loop device of it is
 * left.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dockerCliAvailable } from '../../helpers/berthd-process.js';
import { busyboxAvailable } from '../../helpers/busybox-rootfs.js';
import { startContainerDaemon, type ContainerDaemon } from '../../e2e/containers/harness.js';
import { containerScenarios, oomKillScenario } from '../../e2e/containers/scenarios.js';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';

const skip = spawnSync('dmsetup', ['targets']).status !== 0 ? 'no device-mapper in this kernel (run through test/vm/dmvm)'
  : !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : undefined;

describe('docker CLI on devicemapper', { skip }, () => {
  let c: ContainerDaemon;
  let dataRoot: string;
  before(async () => {
    c = await startContainerDaemon({ 'storage-driver': 'devicemapper', 'storage-opts': ['dm.basesize=512M', 'dm.loopdatasize=2G', 'dm.loopmetadatasize=64M'] });
    dataRoot = join(c.d.dir, 'data');
  });
  after(async () => { await c?.stop(); });

  it('docker info shows the pool as dockerd does', () => {
    const r = c.d.docker(['info', '--format', '{{.Driver}}|{{json .DriverStatus}}']);
    assert.equal(r.status, 0, r.stderr);
    const [driver, json] = r.stdout.trim().split('|');
    assert.equal(driver, 'devicemapper');
    const rows = new Map(JSON.parse(json!) as Array<[string, string]>);
    assert.match(rows.get('Pool Name') ?? '', /^docker-\d+:\d+-\d+-pool$/);
    assert.equal(rows.get('Base Device Size'), '536.9MB');
    assert.equal(rows.get('Backing Filesystem'), 'ext4');
    assert.equal(rows.get('Data loop file'), join(dataRoot, 'devicemapper', 'devicemapper', 'data'));
    assert.equal(rows.get('Metadata loop file'), join(dataRoot, 'devicemapper', 'devicemapper', 'metadata'));
    assert.equal(rows.get('Data Space Total'), '2.147GB');
    for (const k of ['Pool Blocksize', 'Udev Sync Supported', 'Data file', 'Metadata file', 'Data Space Used', 'Data Space Available', 'Metadata Space Used',
      'Metadata Space Total', 'Metadata Space Available', 'Thin Pool Minimum Free Space', 'Deferred Removal Enabled', 'Deferred Deletion Enabled',
      'Deferred Deleted Device Count', 'Library Version']) assert.ok(rows.has(k), k);
  });

  it('the imported image is a thin device', () => {
    const r = c.d.docker(['image', 'inspect', '-f', '{{.GraphDriver.Name}} {{.GraphDriver.Data.DeviceName}} {{.GraphDriver.Data.DeviceId}}', 'bbox:1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^devicemapper docker-\d+:\d+-\d+-[0-9a-f]{64} \d+$/);
  });

  it('docker run runs on a thin snapshot and --rm removes it', () => {
    const r = c.d.docker(['run', '--rm', 'bbox:1', 'sh', '-c', 'echo hi > /tmp/x && cat /tmp/x && grep " / " /proc/mounts']);
    assert.equal(r.status, 0, r.stderr);
    const [hi, rootMount] = r.stdout.trim().split('\n');
    assert.equal(hi, 'hi');
    assert.match(rootMount ?? '', /^\/dev\/mapper\/docker-\d+:\d+-\d+-[0-9a-f]{64} \/ ext4 /);
    assert.equal(c.d.docker(['ps', '-aq']).stdout, '');
    const mapped = execFileSync('dmsetup', ['ls'], { encoding: 'utf8' });
    assert.doesNotMatch(mapped, /-init\s/, 'the container\'s devices are gone');
  });

  containerScenarios(() => c, { runtime: 'runc', driver: 'devicemapper', lean: true });

  oomKillScenario(() => c, 'lxc', { skip: findBinary('lxc-start') ? false : 'lxc is not installed' });

  it('stops without leaving devices or loop devices behind', async () => {
    const pool = new Map(JSON.parse(c.d.docker(['info', '--format', '{{json .DriverStatus}}']).stdout) as Array<[string, string]>).get('Pool Name')!;
    const prefix = pool.replace(/-pool$/, '');
    await c.stop();
    c = undefined as unknown as ContainerDaemon;
    assert.doesNotMatch(execFileSync('dmsetup', ['ls'], { encoding: 'utf8' }), new RegExp(prefix));
    assert.doesNotMatch(execFileSync('losetup', ['-a'], { encoding: 'utf8' }), new RegExp(dataRoot));
  });
});
