import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { makeTar } from '../conformance/tar-fixtures.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';
import { apiJson, rawExchange } from './containers/raw-http.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

describe('docker cp with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  let host: string;
  before(async () => {
    c = await startContainerDaemon();
    host = mkdtempSync(join(tmpdir(), 'berth-cp-'));
    assert.equal(c.d.docker(['run', '-d', '--name', 'box', '-v', 'cpvol:/vol', 'bbox:1', 'sleep', '300']).status, 0);
  });
  after(async () => {
    await c?.stop();
    rmSync(host, { recursive: true, force: true });
  });

  it('copies a file in (owned by root) and back out', () => {
    writeFileSync(join(host, 'in.txt'), 'hello cp\n');
    assert.equal(c.d.docker(['cp', join(host, 'in.txt'), 'box:/tmp/copied.txt']).status, 0);
    assert.equal(c.d.docker(['exec', 'box', 'cat', '/tmp/copied.txt']).stdout, 'hello cp\n');
    assert.match(c.d.docker(['exec', 'box', 'ls', '-ln', '/tmp/copied.txt']).stdout, /^-rw-r--r--\s+1 0\s+0\s+9 /);
    const r = c.d.docker(['cp', 'box:/tmp/copied.txt', join(host, 'out.txt')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'hello cp\n');
  });

  it('copies directories both ways, into volumes too, and from a stopped container', () => {
    mkdirSync(join(host, 'tree/sub'), { recursive: true });
    writeFileSync(join(host, 'tree/sub/leaf'), 'leaf\n');
    assert.equal(c.d.docker(['cp', join(host, 'tree'), 'box:/vol/']).status, 0);
    assert.equal(c.d.docker(['exec', 'box', 'cat', '/vol/tree/sub/leaf']).stdout, 'leaf\n');
    assert.equal(c.d.docker(['run', '--rm', '-v', 'cpvol:/v', 'bbox:1', 'cat', '/v/tree/sub/leaf']).stdout, 'leaf\n', 'it went into the volume');
    assert.equal(c.d.docker(['create', '--name', 'cold', 'bbox:1']).status, 0);
    assert.equal(c.d.docker(['cp', 'cold:/etc', join(host, 'etc-out')]).status, 0);
    assert.match(readFileSync(join(host, 'etc-out/passwd'), 'utf8'), /^root:x:0:0/);
  });

  it('answers a missing path as dockerd does', () => {
    const r = c.d.docker(['cp', 'box:/nope', join(host, 'x')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Could not find the file \/nope in container box/);
  });

  it('follows symlinks inside the container, never to the host', () => {
    assert.equal(c.d.docker(['exec', 'box', 'busybox', 'ln', '-s', '/', '/tmp/rootlink']).status, 0);
    writeFileSync(join(host, 'marker'), 'inside\n');
    assert.equal(c.d.docker(['cp', join(host, 'marker'), 'box:/tmp/rootlink/etc/']).status, 0);
    assert.equal(c.d.docker(['exec', 'box', 'cat', '/etc/marker']).stdout, 'inside\n');
    assert.equal(existsSync('/etc/marker'), false);
    assert.equal(c.d.docker(['exec', 'box', 'busybox', 'ln', '-s', '/etc', '/tmp/etclink']).status, 0);
    assert.equal(c.d.docker(['cp', 'box:/tmp/etclink', join(host, 'link-out')]).status, 0);
    assert.equal(readlinkSync(join(host, 'link-out')), '/etc', 'the link itself, not its target');
  });

  it('refuses a tar that would write through its own symlink out of the container', async () => {
    const evil = await makeTar([
      { name: 'escape', type: 'symlink', linkname: '/' },
      { name: 'escape/tmp/berth-cp-pwned', content: 'pwned\n' },
    ]);
    const id = c.d.docker(['inspect', '-f', '{{.Id}}', 'box']).stdout.trim();
    const ex = rawExchange(c.d.socket, 'PUT', `/v1.51/containers/${id}/archive?path=%2Ftmp`, { headers: { 'Content-Type': 'application/x-tar', Connection: 'close' }, body: evil });
    const head = await ex.head;
    assert.equal(head.status, 400);
    await ex.closed;
    assert.equal(existsSync('/tmp/berth-cp-pwned'), false);
  });

  it('HEAD gives the path stat header: standard base64 JSON with a Go FileMode', async () => {
    const id = c.d.docker(['inspect', '-f', '{{.Id}}', 'box']).stdout.trim();
    const ex = rawExchange(c.d.socket, 'HEAD', `/containers/${id}/archive?path=%2Fetc`, { headers: { Connection: 'close' } });
    const head = await ex.head;
    assert.equal(head.status, 200);
    const stat = JSON.parse(Buffer.from(head.headers['x-docker-container-path-stat']!, 'base64').toString()) as Record<string, unknown>;
    assert.equal(stat.name, 'etc');
    assert.equal(stat.mode, 2 ** 31 + 0o755);
    assert.equal(stat.linkTarget, '');
    const missing = await apiJson(c.d.socket, 'HEAD', `/containers/${id}/archive?path=%2Fnope`);
    assert.equal(missing.status, 404);
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
