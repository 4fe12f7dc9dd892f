import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';
import { apiJson } from './containers/raw-http.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** The raw body and Content-Type of a GET (the list is sent as JSON text built by the route itself). */
function getRaw(socketPath: string, path: string): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Summary = Record<string, unknown> & { Id: string; Names: string[]; State: string; Status: string };

/**
 * `GET /containers/json` on the wire: dockerd's shape and key order for
 * created and exited containers (labels, a bind mount, sizes only with
 * size=1), newest first, filters, and the same answer at an older API version.
 */
describe('Engine API container list', { skip }, () => {
  let c: ContainerDaemon;
  let sock: string;
  let exitedId = '';
  let createdId = '';
  before(async () => {
    c = await startContainerDaemon();
    sock = c.d.socket;
    const a = await apiJson(sock, 'POST', '/v1.51/containers/create?name=list-exited', {
      Image: 'bbox:1', Cmd: ['sh', '-c', 'exit 3'], Labels: { tier: 'db', 'x"y': 'ü' }, HostConfig: { Binds: [`${c.d.dir}:/src:ro`] },
    });
    assert.equal(a.status, 201, JSON.stringify(a.json));
    exitedId = (a.json as { Id: string }).Id;
    assert.equal((await apiJson(sock, 'POST', `/v1.51/containers/${exitedId}/start`)).status, 204);
    assert.equal((await apiJson(sock, 'POST', `/v1.51/containers/${exitedId}/wait`)).status, 200);
    const b = await apiJson(sock, 'POST', '/v1.51/containers/create?name=list-created', { Image: 'bbox:1', Cmd: ['true'] });
    assert.equal(b.status, 201, JSON.stringify(b.json));
    createdId = (b.json as { Id: string }).Id;
  });
  after(async () => { await c?.stop(); });

  it('answers dockerd shape: newest first, Status text, labels, mounts, no sizes unless asked', async () => {
    const res = await getRaw(sock, '/v1.51/containers/json?all=1');
    assert.equal(res.status, 200);
    assert.equal(res.type, 'application/json');
    assert.ok(res.text.endsWith(']\n'), 'a JSON array and a newline, as dockerd encodes');
    const list = JSON.parse(res.text) as Summary[];
    assert.deepEqual(list.map((s) => s.Id), [createdId, exitedId]);
    const [created, exited] = list as [Summary, Summary];
    assert.deepEqual(Object.keys(exited), ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts']);
    assert.deepEqual(exited.Names, ['/list-exited']);
    assert.equal(exited.Image, 'bbox:1');
    assert.match(exited.ImageID as string, /^sha256:[0-9a-f]{64}$/);
    assert.equal(exited.Command, 'sh -c exit 3');
    assert.equal(typeof exited.Created, 'number');
    assert.deepEqual(exited.Ports, []);
    assert.deepEqual(exited.Labels, { tier: 'db', 'x"y': 'ü' });
    assert.equal(exited.State, 'exited');
    assert.match(exited.Status, /^Exited \(3\) (Less than a second|\d+ seconds?) ago$/);
    assert.deepEqual(exited.Mounts, [{ Type: 'bind', Source: c.d.dir, Destination: '/src', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
    assert.equal(created.State, 'created');
    assert.equal(created.Status, 'Created');
    assert.deepEqual(created.Labels, {});
    assert.deepEqual(created.Mounts, []);
  });

  it('adds SizeRw and SizeRootFs with size=1', async () => {
    const res = await apiJson(sock, 'GET', '/v1.51/containers/json?all=1&size=1');
    for (const s of res.json as Summary[]) {
      assert.equal(typeof s.SizeRw, 'number');
      assert.equal(typeof s.SizeRootFs, 'number');
      assert.ok((s.SizeRootFs as number) > 0);
    }
  });

  it('applies filters and lists running containers only without all', async () => {
    const q = (f: object) => `/v1.51/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(f))}`;
    assert.deepEqual(((await apiJson(sock, 'GET', q({ label: ['tier=db'] }))).json as Summary[]).map((s) => s.Id), [exitedId]);
    assert.deepEqual(((await apiJson(sock, 'GET', q({ status: ['created'] }))).json as Summary[]).map((s) => s.Id), [createdId]);
    assert.deepEqual(((await apiJson(sock, 'GET', q({ exited: ['3'] }))).json as Summary[]).map((s) => s.Id), [exitedId]);
    assert.deepEqual(((await apiJson(sock, 'GET', q({ name: ['list-cr'] }))).json as Summary[]).map((s) => s.Id), [createdId]);
    assert.deepEqual((await apiJson(sock, 'GET', '/v1.51/containers/json')).json, []);
    const bad = await apiJson(sock, 'GET', q({ status: ['sleeping'] }));
    assert.equal(bad.status, 400);
  });

  it('answers the same at an older API version (no adapter lowers the list)', async () => {
    // Only containers whose Status does not move with the clock: the created one.
    const f = encodeURIComponent(JSON.stringify({ status: ['created'] }));
    const newest = await getRaw(sock, `/containers/json?all=1&filters=${f}`);
    const old = await getRaw(sock, `/v1.41/containers/json?all=1&filters=${f}`);
    assert.equal(old.type, 'application/json');
    assert.equal(old.text, newest.text);
  });
});
