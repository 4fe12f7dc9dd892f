import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExtensionPoint, type DockerEvent, type VolumeService } from '../../../kernel/index.js';
import { startApi } from '../../helpers/api-harness.js';

const q = (f: object) => encodeURIComponent(JSON.stringify(f));

describe('volume routes', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let volumes: VolumeService;
  const events: DockerEvent[] = [];
  before(async () => {
    api = await startApi();
    volumes = api.kernel.plugins.current<VolumeService>(ExtensionPoint.VolumeService);
    api.kernel.events.on('docker.event', (e) => events.push(e));
  });
  after(async () => { await api.stop(); });

  it('POST /volumes/create answers 201 with the volume, and again 201 for the same name', async () => {
    const res = await api.http().post('/volumes/create').send({ Name: 'web-data', Driver: 'local', Labels: { app: 'web' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers['content-type'], 'application/json');
    const v = res.body;
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.deepEqual([v.Name, v.Driver, v.Scope, v.Options], ['web-data', 'local', 'local', null]);
    assert.deepEqual(v.Labels, { app: 'web' });
    assert.equal(v.Mountpoint, join(api.config['data-root'], 'volumes', 'web-data', '_data'));
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    const again = await api.http().post('/volumes/create').send({ Name: 'web-data' });
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, v);
    assert.deepEqual(events.filter((e) => e.Type === 'volume').map((e) => `${e.Action} ${e.Actor.ID}`), ['create web-data']);
  });

  it('an empty create makes an anonymous volume; driver options are kept', async () => {
    const anon = await api.http().post('/volumes/create');
    assert.equal(anon.status, 201);
    assert.match(anon.body.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(anon.body.Labels, { 'com.docker.volume.anonymous': '' });
    const t = await api.http().post('/v1.41/volumes/create').send({ name: 'scratch', driveropts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    assert.equal(t.status, 201, 'field names are case-insensitive, as Go decodes them');
    assert.deepEqual(t.body.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    assert.equal(t.body.Labels, null);
  });

  it('create errors carry dockerd status and wording', async () => {
    const cases: Array<[object, number, string]> = [
      [{ Name: 'v1', Driver: 'nfsplug' }, 404, 'create v1: error looking up volume plugin nfsplug: plugin "nfsplug" not found'],
      [{ Name: 'x' }, 400, 'create x: volume name is too short, names should be at least two alphanumeric characters'],
      [{ Name: 'a:b' }, 400, 'create a:b: "a:b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'],
      [{ Name: 'v2', DriverOpts: { colour: 'blue' } }, 400, 'create v2: invalid option: "colour"'],
      [{ Name: 'v3', DriverOpts: { device: 'tmpfs' } }, 400, 'create v3: missing required option: "type"'],
      [{ Name: 5 }, 400, 'json: cannot unmarshal number into Go struct field CreateRequest.Name of type string'],
      [{ Labels: { a: 1 } }, 400, 'json: cannot unmarshal number into Go struct field CreateRequest.Labels.a of type string'],
    ];
    for (const [body, status, message] of cases) {
      const res = await api.http().post('/volumes/create').send(body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.deepEqual(res.body, { message });
    }
    const wrongType = await api.http().post('/volumes/create').set('Content-Type', 'text/plain').send('{"Name":"zz"}');
    assert.equal(wrongType.status, 400);
  });

  it('GET /volumes lists with filters and Warnings null', async () => {
    const all = await api.http().get('/volumes');
    assert.equal(all.status, 200);
    assert.equal(all.body.Warnings, null);
    assert.ok(all.body.Volumes.some((v: { Name: string }) => v.Name === 'web-data'));
    const byLabel = await api.http().get(`/volumes?filters=${q({ label: { 'app=web': true } })}`);
    assert.deepEqual(byLabel.body.Volumes.map((v: { Name: string }) => v.Name), ['web-data']);
    const legacyForm = await api.http().get(`/volumes?filters=${q({ name: ['scratch'] })}`);
    assert.deepEqual(legacyForm.body.Volumes.map((v: { Name: string }) => v.Name), ['scratch']);
    await volumes.acquire('web-data', 'c0ffee');
    const dangling = await api.http().get(`/volumes?filters=${q({ dangling: { true: true } })}`);
    assert.ok(!dangling.body.Volumes.some((v: { Name: string }) => v.Name === 'web-data'));
    const bad = await api.http().get(`/volumes?filters=${q({ bogus: { x: true } })}`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^Invalid filter 'bogus'$/i);
    const badBool = await api.http().get(`/volumes?filters=${q({ dangling: { maybe: true } })}`);
    assert.deepEqual([badBool.status, badBool.body.message], [400, "invalid filter 'dangling=[maybe]'"]);
  });

  it('GET /volumes/{name} inspects; unknown names are 404 get X: no such volume', async () => {
    const res = await api.http().get('/volumes/web-data');
    assert.equal(res.status, 200);
    assert.equal(res.body.Name, 'web-data');
    assert.equal(res.body.UsageData, undefined);
    for (const name of ['nope', 'a/b']) {
      const missing = await api.http().get(`/volumes/${name}`);
      assert.equal(missing.status, 404);
      assert.deepEqual(missing.body, { message: `get ${name}: no such volume` });
    }
  });

  it('DELETE /volumes/{name}: 409 in use, 404 unknown, 204 with force or when free', async () => {
    const inUse = await api.http().delete('/volumes/web-data?force=1');
    assert.equal(inUse.status, 409);
    assert.deepEqual(inUse.body, { message: 'remove web-data: volume is in use - [c0ffee]' });
    const missing = await api.http().delete('/volumes/nope');
    assert.deepEqual([missing.status, missing.body.message], [404, 'get nope: no such volume']);
    assert.equal((await api.http().delete('/volumes/nope?force=true')).status, 204);
    await volumes.release('web-data', 'c0ffee');
    const ok = await api.http().delete('/volumes/web-data');
    assert.equal(ok.status, 204);
    assert.equal(ok.text, '');
    assert.equal((await api.http().get('/volumes/web-data')).status, 404);
    assert.ok(events.some((e) => e.Action === 'destroy' && e.Actor.ID === 'web-data' && e.Actor.Attributes.driver === 'local'));
  });

  it('PUT /volumes/{name} is for swarm cluster volumes only', async () => {
    const res = await api.http().put('/volumes/scratch').send({});
    assert.deepEqual([res.status, res.body.message], [503, 'volume update only valid for cluster volumes, but swarm is unavailable']);
  });

  it('POST /volumes/prune takes only anonymous volumes from API 1.42 on, unless all=true', async () => {
    for (const name of ['named-a', 'named-b']) await api.http().post('/volumes/create').send({ Name: name });
    const anon = (await api.http().post('/volumes/create').send({})).body.Name as string;
    await writeFile(join(api.config['data-root'], 'volumes', anon, '_data', 'blob'), Buffer.alloc(512));
    const res = await api.http().post('/volumes/prune');
    assert.equal(res.status, 200);
    assert.equal(res.body.SpaceReclaimed, 512);
    assert.ok(res.body.VolumesDeleted.includes(anon));
    assert.ok(!res.body.VolumesDeleted.includes('named-a'));
    const none = await api.http().post('/volumes/prune');
    assert.deepEqual(none.body, { VolumesDeleted: [], SpaceReclaimed: 0 });
    const labelled = await api.http().post(`/volumes/prune?filters=${q({ all: { true: true }, label: { nothing: true } })}`);
    assert.deepEqual(labelled.body.VolumesDeleted, []);
    const all = await api.http().post(`/volumes/prune?filters=${q({ all: { true: true }, 'label!': { keep: true } })}`);
    assert.deepEqual(all.body.VolumesDeleted.sort(), ['named-a', 'named-b'], 'the tmpfs volume has options and stays');
    const badKey = await api.http().post(`/volumes/prune?filters=${q({ until: { '1h': true } })}`);
    assert.equal(badKey.status, 400);
  });

  it('below API 1.42 prune means every unused volume, and all=false is refused as dockerd does', async () => {
    await api.http().post('/volumes/create').send({ Name: 'old-style' });
    const res = await api.http().post('/v1.41/volumes/prune');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.VolumesDeleted, ['old-style']);
    const legacy = await api.http().post(`/v1.41/volumes/prune?filters=${q({ label: ['x'] })}`);
    assert.equal(legacy.status, 200, 'the legacy list form keeps working');
    const conflicting = await api.http().post(`/v1.41/volumes/prune?filters=${q({ all: { false: true } })}`);
    assert.deepEqual([conflicting.status, conflicting.body.message], [400, "invalid filter 'all=[false true]': only one value is expected"]);
  });

  it('GET /system/df lists local volumes without options with UsageData; /info names the drivers', async () => {
    await api.http().post('/volumes/create').send({ Name: 'dfvol' });
    await writeFile(join(api.config['data-root'], 'volumes', 'dfvol', '_data', 'x'), 'hello');
    await volumes.acquire('dfvol', 'c1');
    const df = await api.http().get('/system/df');
    assert.equal(df.status, 200);
    assert.deepEqual(df.body.Volumes.map((v: { Name: string }) => v.Name), ['dfvol']);
    assert.deepEqual(df.body.Volumes[0].UsageData, { Size: 5, RefCount: 1 });
    const onlyImages = await api.http().get('/system/df?type=image');
    assert.equal(onlyImages.body.Volumes, null);
    await volumes.release('dfvol', 'c1');
    const info = await api.http().get('/info');
    assert.deepEqual(info.body.Plugins.Volume, ['local']);
  });
});
