import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { mountLoopBtrfs, type BtrfsLoop } from '../helpers/btrfs-loop.js';
import { isSubvolume } from '../../plugins/graph-btrfs/btrfs-tools.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const pre = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : undefined;
const fs = pre ? pre : await mountLoopBtrfs();
const skip = typeof fs === 'string' ? fs : undefined;
const loop = typeof fs === 'string' ? null : (fs as BtrfsLoop);
if (skip) console.log(`# btrfs e2e skipped: ${skip}`);

/**
 * The container scenario set with the real docker CLI on a berthd whose data
 * root is a loop-mounted btrfs and whose storage driver is btrfs.
 */
describe('docker CLI on the btrfs storage driver', { skip }, () => {
  let c: ContainerDaemon;
  let host: string;
  const dataRoot = () => join(loop!.mnt, 'data');
  before(async () => {
    host = mkdtempSync(join(tmpdir(), 'berth-btrfs-cp-'));
    c = await startContainerDaemon({ 'storage-driver': 'btrfs' }, { dataRoot: dataRoot() });
  });
  after(async () => {
    try {
      await c?.stop();
    } finally {
      rmSync(host, { recursive: true, force: true });
      await loop?.cleanup();
    }
  });

  it('docker info shows btrfs with dockerd\'s status rows', () => {
    const info = c.d.docker(['info', '--format', '{{.Driver}}|{{json .DriverStatus}}']);
    assert.equal(info.status, 0, info.stderr);
    const [driver, status] = info.stdout.trim().split('|');
    assert.equal(driver, 'btrfs');
    const rows = JSON.parse(status!) as Array<[string, string]>;
    assert.match(rows.find((r) => r[0] === 'Build Version')?.[1] ?? '', /^Btrfs v\d/);
    assert.equal(rows.find((r) => r[0] === 'Library Version')?.[1], '102');
  });

  it('imported image layers are subvolumes; run, logs, exec, cp, stop', async () => {
    const top = c.d.docker(['image', 'inspect', '--format', '{{.GraphDriver.Name}}', 'bbox:1']);
    assert.equal(top.stdout.trim(), 'btrfs');
    const r = c.d.docker(['run', '-d', '--name', 'b1', 'bbox:1', 'sh', '-c', 'echo hello from btrfs; echo oops >&2; sleep 300']);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.equal(await isSubvolume(join(dataRoot(), 'btrfs', 'subvolumes', id)), true, 'the container layer is a subvolume');
    await waitFor(() => c.d.docker(['logs', 'b1']).stdout.includes('hello from btrfs'));
    const logs = c.d.docker(['logs', 'b1']);
    assert.equal(logs.stdout, 'hello from btrfs\n');
    assert.equal(logs.stderr, 'oops\n');
    assert.equal(c.d.docker(['exec', 'b1', 'sh', '-c', 'echo written > /tmp/f; cat /tmp/f']).stdout, 'written\n');
    writeFileSync(join(host, 'in.txt'), 'copied in\n');
    assert.equal(c.d.docker(['cp', join(host, 'in.txt'), 'b1:/in.txt']).status, 0);
    assert.equal(c.d.docker(['exec', 'b1', 'cat', '/in.txt']).stdout, 'copied in\n');
    const out = c.d.docker(['cp', 'b1:/tmp/f', join(host, 'out.txt')]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'written\n');
    const diff = c.d.docker(['diff', 'b1']).stdout;
    assert.match(diff, /^A \/in\.txt$/m);
    assert.match(diff, /^A \/tmp\/f$/m);
    assert.equal(c.d.docker(['stop', '-t', '1', 'b1']).status, 0);
    assert.equal(c.d.docker(['inspect', '--format', '{{.State.Running}}', 'b1']).stdout.trim(), 'false');
    assert.equal(c.d.docker(['start', 'b1']).status, 0);
    assert.equal(c.d.docker(['exec', 'b1', 'cat', '/tmp/f']).stdout, 'written\n', 'the layer survives stop/start');
    assert.equal(c.d.docker(['rm', '-f', 'b1']).status, 0);
    assert.equal(await isSubvolume(join(dataRoot(), 'btrfs', 'subvolumes', id)), false, 'rm deletes the subvolume');
  });

  it('--storage-opt size limits the container through a btrfs qgroup', () => {
    const r = c.d.docker(['run', '--rm', '--storage-opt', 'size=16M', 'bbox:1', 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=64 2>&1; sync; echo rc=$?'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Disk quota exceeded/);
    const bad = c.d.docker(['run', '--rm', '--storage-opt', 'size=0', 'bbox:1', 'true']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /btrfs: invalid storage size: 0B/);
  });

  it('docker commit makes an image of the container\'s subvolume that runs on btrfs', () => {
    assert.equal(c.d.docker(['run', '--name', 'tocommit', 'bbox:1', 'sh', '-c', 'echo committed > /c.txt; rm /bin/true']).status, 0);
    const r = c.d.docker(['commit', 'tocommit', 'committed:1']);
    assert.equal(r.status, 0, r.stderr);
    const run = c.d.docker(['run', '--rm', 'committed:1', 'sh', '-c', 'cat /c.txt; test -e /bin/true || echo gone']);
    assert.equal(run.stdout, 'committed\ngone\n', run.stderr);
    assert.equal(c.d.docker(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', 'committed:1']).stdout.trim(), '2');
  });
});
