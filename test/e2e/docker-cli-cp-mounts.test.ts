import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** docker cp through what dockerd mounts for it: the generated /etc files, and volumes and binds below the copied path. */
describe('docker cp across mounts and the generated /etc files', { skip }, () => {
  let c: ContainerDaemon;
  let host: string;
  let roSrc: string;
  before(async () => {
    c = await startContainerDaemon();
    host = mkdtempSync(join(tmpdir(), 'berth-cpm-'));
    roSrc = join(host, 'ro-src');
    mkdirSync(roSrc);
    writeFileSync(join(roSrc, 'in-bind'), 'bound\n');
    const r = c.d.docker(['run', '-d', '--name', 'mnt', '--add-host', 'db:10.1.2.3', '-v', '/vol', '-v', `${roSrc}:/mnt/ro:ro`, 'bbox:1', 'sleep', '300']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(c.d.docker(['exec', 'mnt', 'sh', '-c', 'echo v > /vol/f']).status, 0);
  });
  after(async () => {
    await c?.stop();
    rmSync(host, { recursive: true, force: true });
  });

  it('reads the generated /etc/hosts, /etc/hostname and /etc/resolv.conf, alone and inside /etc', () => {
    const id = c.d.docker(['inspect', '-f', '{{.Id}}', 'mnt']).stdout.trim();
    assert.equal(c.d.docker(['cp', 'mnt:/etc/hosts', join(host, 'hosts')]).status, 0);
    assert.match(readFileSync(join(host, 'hosts'), 'utf8'), /10\.1\.2\.3\tdb/);
    assert.equal(c.d.docker(['cp', 'mnt:/etc', join(host, 'etc')]).status, 0);
    assert.equal(readFileSync(join(host, 'etc/hostname'), 'utf8'), `${id.slice(0, 12)}\n`);
    assert.match(readFileSync(join(host, 'etc/resolv.conf'), 'utf8'), /nameserver/);
    assert.match(readFileSync(join(host, 'etc/passwd'), 'utf8'), /^root:/, 'image files beside them');
  });

  it('copies out of a path with volumes and binds below it: their contents, not the empty mount points', () => {
    const r = c.d.docker(['cp', 'mnt:/', join(host, 'root')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(host, 'root/vol/f'), 'utf8'), 'v\n');
    assert.equal(readFileSync(join(host, 'root/mnt/ro/in-bind'), 'utf8'), 'bound\n');
    assert.match(readFileSync(join(host, 'root/etc/hosts'), 'utf8'), /db/);
  });

  it('copies into a path with a volume below it (the volume gets the files); a read-only bind and the /etc file mounts refuse as dockerd', () => {
    mkdirSync(join(host, 'up/vol'), { recursive: true });
    writeFileSync(join(host, 'up/vol/new'), 'into volume\n');
    let r = c.d.docker(['cp', join(host, 'up/vol'), 'mnt:/']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(c.d.docker(['exec', 'mnt', 'cat', '/vol/new']).stdout, 'into volume\n');
    mkdirSync(join(host, 'up2/mnt/ro'), { recursive: true });
    writeFileSync(join(host, 'up2/mnt/ro/zz'), 'z\n');
    r = c.d.docker(['cp', join(host, 'up2/mnt'), 'mnt:/']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /read-only file system/);
    assert.equal(existsSync(join(roSrc, 'zz')), false, 'nothing written into the read-only bind');
    writeFileSync(join(host, 'h'), '1.2.3.4 x\n');
    r = c.d.docker(['cp', join(host, 'h'), 'mnt:/etc/hosts']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Error processing tar file\(exit status 1\): unlinkat \/etc\/hosts: device or resource busy/);
    assert.match(c.d.docker(['exec', 'mnt', 'cat', '/etc/hosts']).stdout, /db/, 'the generated file is intact');
  });

  it('a created (never started) container has no generated files yet: the image\'s own are copied', () => {
    assert.equal(c.d.docker(['create', '--name', 'fresh', 'bbox:1']).status, 0);
    const r = c.d.docker(['cp', 'fresh:/etc', join(host, 'fresh-etc')]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(host, 'fresh-etc/passwd')));
  });
});
