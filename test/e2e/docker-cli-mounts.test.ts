import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable, busyboxRootfsTar } from '../helpers/busybox-rootfs.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

describe('volumes, binds and tmpfs mounts with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  let host: string;
  before(async () => {
    c = await startContainerDaemon();
    host = mkdtempSync(join(tmpdir(), 'berth-binds-'));
    // An image with a VOLUME over content: anonymous volumes get a copy of it.
    const rootfs = await busyboxRootfsTar();
    try {
      const r = spawnSync('docker', ['import', '-c', 'CMD ["sh"]', '-c', 'VOLUME /etc', rootfs.tar, 'bbox:vol'], { env: { ...process.env, DOCKER_HOST: `unix://${c.d.socket}` }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      await rootfs.cleanup();
    }
  });
  after(async () => {
    await c?.stop();
    rmSync(host, { recursive: true, force: true });
  });

  it('a named volume keeps data between containers; :ro is read-only; in use it cannot be removed', () => {
    assert.equal(c.d.docker(['run', '--rm', '-v', 'data1:/data', 'bbox:1', 'sh', '-c', 'echo persisted > /data/f']).status, 0);
    const ro = c.d.docker(['run', '--rm', '-v', 'data1:/data:ro', 'bbox:1', 'sh', '-c', 'cat /data/f; touch /data/x']);
    assert.equal(ro.stdout, 'persisted\n');
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(c.d.docker(['create', '--name', 'holder', '-v', 'data1:/data', 'bbox:1']).status, 0);
    assert.match(c.d.docker(['volume', 'rm', 'data1']).stderr, /remove data1: volume is in use - \[[0-9a-f]{64}\]/);
    assert.equal(c.d.docker(['ps', '-a', '--filter', 'volume=data1', '--format', '{{.Names}}']).stdout.trim(), 'holder');
    const mounts = JSON.parse(c.d.docker(['inspect', '-f', '{{json .Mounts}}', 'holder']).stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(mounts.map((m) => [m.Type, m.Name, m.Destination, m.Driver, m.RW]), [['volume', 'data1', '/data', 'local', true]]);
    assert.equal(c.d.docker(['rm', 'holder']).status, 0);
    assert.equal(c.d.docker(['volume', 'rm', 'data1']).status, 0);
  });

  it('an image VOLUME gets an anonymous volume with the image content; rm -v and --rm remove it', () => {
    const before = c.d.docker(['volume', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean).length;
    const r = c.d.docker(['run', '--name', 'anon', 'bbox:vol', 'cat', '/etc/passwd']);
    assert.match(r.stdout, /^root:x:0:0:/);
    assert.equal(c.d.docker(['volume', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean).length, before + 1);
    assert.equal(c.d.docker(['rm', '-v', 'anon']).status, 0);
    assert.equal(c.d.docker(['run', '--rm', 'bbox:vol', 'true']).status, 0);
    assert.equal(c.d.docker(['volume', 'ls', '-q']).stdout.trim().split('\n').filter(Boolean).length, before);
  });

  it('-v binds a host directory (created when missing); --mount bind refuses a missing source', () => {
    writeFileSync(join(host, 'h.txt'), 'from the host\n');
    assert.equal(c.d.docker(['run', '--rm', '-v', `${host}:/h`, 'bbox:1', 'cat', '/h/h.txt']).stdout, 'from the host\n');
    assert.equal(c.d.docker(['run', '--rm', '-v', `${host}/new/sub:/n`, 'bbox:1', 'sh', '-c', 'echo made > /n/f']).status, 0);
    assert.equal(readFileSync(join(host, 'new/sub/f'), 'utf8'), 'made\n');
    const bad = c.d.docker(['run', '--rm', '--mount', `type=bind,source=${host}/absent,target=/x`, 'bbox:1', 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /invalid mount config for type "bind": bind source path does not exist/);
    assert.equal(existsSync(join(host, 'absent')), false);
  });

  it('--mount type=tmpfs and --tmpfs mount a tmpfs', () => {
    const r = c.d.docker(['run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m', '--tmpfs', '/u', 'bbox:1', 'sh', '-c', 'grep -E " /(t|u) " /proc/mounts']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tmpfs \/t tmpfs .*size=1024k/m);
    assert.match(r.stdout, /^tmpfs \/u tmpfs /m);
  });

  it('--volumes-from takes another container\'s mounts, :ro makes them read-only', () => {
    assert.equal(c.d.docker(['create', '--name', 'donor', '-v', 'shared:/s', '-v', `${host}:/h`, 'bbox:1']).status, 0);
    assert.equal(c.d.docker(['run', '--rm', '--volumes-from', 'donor', 'bbox:1', 'sh', '-c', 'echo x > /s/x; ls /h']).stdout, 'h.txt\nnew\n');
    const ro = c.d.docker(['run', '--rm', '--volumes-from', 'donor:ro', 'bbox:1', 'sh', '-c', 'cat /s/x; touch /s/y']);
    assert.equal(ro.stdout, 'x\n');
    assert.match(ro.stderr, /Read-only file system/);
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
