import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApi } from '../../helpers/api-harness.js';
import { MAX_API_VERSION } from '../../../api-compat/engine-version.js';

describe('system routes', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async () => { api = await startApi(); });
  after(async () => { await api.stop(); });

  it('HEAD /_ping answers with dockerd headers and no body', async () => {
    const res = await api.http().head('/_ping');
    assert.equal(res.status, 200);
    assert.equal(res.headers['api-version'], MAX_API_VERSION);
    assert.equal(res.headers['ostype'], 'linux');
    assert.equal(res.headers['docker-experimental'], 'false');
    assert.equal(res.headers['builder-version'], '1');
    assert.equal(res.headers['swarm'], 'inactive');
    assert.match(res.headers['server']!, /^Docker\/28\.5\.0\+berth\.[\d.]+ \(linux\)$/);
    assert.equal(res.headers['content-length'], '0');
  });

  it('GET /_ping says OK, versioned and not', async () => {
    for (const path of ['/_ping', '/v1.24/_ping', `/v${MAX_API_VERSION}/_ping`]) {
      const res = await api.http().get(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.text, 'OK');
    }
  });

  it('refuses a too new version with dockerd wording', async () => {
    const res = await api.http().get('/v1.99/version');
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.body, { message: `client version 1.99 is too new. Maximum supported API version is ${MAX_API_VERSION}` });
  });

  it('refuses a too old version, in plain text below 1.24', async () => {
    const res = await api.http().get('/v1.12/version');
    assert.equal(res.status, 400);
    assert.match(res.headers['content-type']!, /^text\/plain/);
    assert.equal(res.text, 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version\n');
  });

  it('honours min-api-version', async () => {
    const strict = await startApi({ 'min-api-version': '1.40' });
    try {
      const res = await strict.http().get('/v1.39/version');
      assert.equal(res.status, 400);
      assert.match(res.body.message, /Minimum supported API version is 1\.40/);
      assert.equal((await strict.http().get('/v1.40/version')).body.MinAPIVersion, '1.40');
    } finally {
      await strict.stop();
    }
  });

  it('GET /version reports API range, OS and kernel', async () => {
    const res = await api.http().get('/v1.41/version');
    assert.equal(res.status, 200);
    assert.equal(res.body.ApiVersion, MAX_API_VERSION);
    assert.equal(res.body.MinAPIVersion, '1.24');
    assert.equal(res.body.Os, 'linux');
    assert.equal(res.body.KernelVersion, (await import('node:os')).release());
    assert.equal(res.body.Components[0].Name, 'Engine');
    assert.equal(res.body.Components[0].Details.ApiVersion, MAX_API_VERSION);
  });

  it('GET /info has real host figures and Berth state', async () => {
    const os = await import('node:os');
    const res = await api.http().get('/info');
    assert.equal(res.status, 200);
    const info = res.body;
    assert.equal(info.ID, 'TEST:ENGINE:ID');
    assert.equal(info.NCPU, os.availableParallelism());
    assert.equal(info.MemTotal, os.totalmem());
    assert.equal(info.KernelVersion, os.release());
    assert.equal(info.DockerRootDir, api.config['data-root']);
    assert.equal(info.Swarm.LocalNodeState, 'inactive');
    assert.ok(['1', '2'].includes(info.CgroupVersion));
    assert.equal(info.Containers, 0);
    assert.equal(info.Images, 0);
    assert.deepEqual(info.RegistryConfig.InsecureRegistryCIDRs, ['127.0.0.0/8', '::1/128']);
    assert.equal(info.DefaultRuntime, 'runc');
  });

  it('GET /system/df answers zeros without images', async () => {
    const res = await api.http().get('/system/df');
    assert.deepEqual(res.body, { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] });
  });

  it('unknown paths are 404 page not found, JSON', async () => {
    for (const path of ['/nope', '/v1.41/containers/nope/frobnicate']) {
      const res = await api.http().get(path);
      assert.equal(res.status, 404);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(res.text, '{"message":"page not found"}\n');
      assert.equal(res.headers['api-version'], MAX_API_VERSION);
    }
  });

  it('swarm endpoints are 503 with dockerd message', async () => {
    const res = await api.http().get('/v1.41/swarm');
    assert.equal(res.status, 503);
    assert.match(res.body.message, /^This node is not a swarm manager/);
    assert.equal((await api.http().get('/services/abc')).status, 503);
  });

  it('OPTIONS answers 200 (CORS preflight)', async () => {
    assert.equal((await api.http().options('/v1.41/containers/json')).status, 200);
  });
});
