import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tar from 'tar-stream';
import { Readable } from 'node:stream';
import { startApi } from '../../helpers/api-harness.js';
import { configFor, dockerArchive, fileLayer, sha256sum } from '../../helpers/image-archives.js';

/** JSON streams are one message per line; read them as text. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const asText = (res: any, cb: (err: Error | null, body: string) => void) => {
  let d = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => { d += c; });
  res.on('end', () => cb(null, d));
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const asBuffer = (res: any, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};
const messages = (text: string) => text.split('\r\n').filter(Boolean).map((l) => JSON.parse(l));

describe('image routes', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let baseId: string;
  let labelledId: string;
  const layer = () => fileLayer('etc/os-release', 'NAME=test\n');

  before(async () => {
    api = await startApi({ 'storage-driver': 'vfs' });
    const res = await api.http().post('/v1.51/images/create?fromSrc=-&repo=base:1&message=first')
      .set('Content-Type', 'application/x-tar').send(await layer()).parse(asText);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    baseId = messages(res.body)[0].status;
    const res2 = await api.http().post('/images/create?fromSrc=-&repo=localhost:5000/team/app&changes=LABEL%20tier%3Dweb&changes=EXPOSE%2080')
      .set('Content-Type', 'application/x-tar').send(await fileLayer('app', 'web app')).parse(asText);
    labelledId = messages(res2.body)[0].status;
  });
  after(async () => { await api.stop(); });

  it('imports with the result as one status message; bad input is a plain 400', async () => {
    assert.match(baseId, /^sha256:[0-9a-f]{64}$/);
    const bad = await api.http().post('/images/create?fromSrc=-&repo=Bad').send(await layer());
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'invalid reference format: repository name (library/Bad) must be lowercase');
    const badChange = await api.http().post('/images/create?fromSrc=-&changes=RUN%20x').send(await layer());
    assert.equal(badChange.status, 400);
    assert.equal(badChange.body.message, 'run is not a valid change command');
    const garbage = await api.http().post('/images/create?fromSrc=-').send(Buffer.from('not a tar at all'.repeat(64)));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.message, 'archive/tar: invalid tar header');
  });

  it('lists images in dockerd 28 shape, newest first', async () => {
    const res = await api.http().get('/images/json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((i: { Id: string }) => i.Id), [labelledId, baseId]);
    const base = res.body[1];
    assert.deepEqual(Object.keys(base), ['Containers', 'Created', 'Id', 'Labels', 'ParentId', 'RepoDigests', 'RepoTags', 'SharedSize', 'Size']);
    assert.equal(base.Containers, 0);
    assert.equal(base.SharedSize, -1);
    assert.deepEqual(base.RepoTags, ['base:1']);
    assert.deepEqual(base.RepoDigests, []);
    assert.equal(base.Labels, null);
    assert.equal(base.Size, 'NAME=test\n'.length);
    assert.ok(Math.abs(base.Created - Date.now() / 1000) < 60);
    assert.deepEqual(res.body[0].Labels, { tier: 'web' });
    const shared = await api.http().get('/images/json?shared-size=1');
    assert.equal(shared.body[1].SharedSize, 0);
  });

  it('applies the list filters', async () => {
    const ids = async (q: string) => (await api.http().get(`/images/json?filters=${encodeURIComponent(q)}`)).body.map((i: { Id: string }) => i.Id);
    assert.deepEqual(await ids('{"label":{"tier=web":true}}'), [labelledId]);
    assert.deepEqual(await ids('{"label":["tier"]}'), [labelledId]);
    assert.deepEqual(await ids('{"reference":{"base":true}}'), [baseId]);
    assert.deepEqual(await ids('{"reference":{"localhost:5000/*/*":true}}'), [labelledId]);
    assert.deepEqual(await ids(`{"before":{"localhost:5000/team/app":true}}`), [baseId]);
    assert.deepEqual(await ids('{"since":{"base:1":true}}'), [labelledId]);
    assert.deepEqual(await ids('{"dangling":{"true":true}}'), []);
    assert.deepEqual(await ids('{"until":{"1":true}}'), []);
    const bad = await api.http().get('/images/json?filters={"bogus":{"x":true}}');
    assert.equal(bad.status, 400);
    const badBool = await api.http().get('/images/json?filters={"dangling":{"maybe":true}}');
    assert.equal(badBool.status, 400);
    assert.equal(badBool.body.message, "invalid filter 'dangling=[maybe]'");
    const noImage = await api.http().get('/images/json?filters={"before":{"nope":true}}');
    assert.equal(noImage.status, 404);
    assert.equal(noImage.body.message, 'No such image: nope:latest');
  });

  it('lowers the list for older API versions', async () => {
    await api.http().post('/images/create?fromSrc=-').send(await fileLayer('dangling', 'x')).parse(asText);
    const v150 = await api.http().get('/v1.50/images/json');
    assert.ok(v150.body.every((i: { Containers: number }) => i.Containers === -1), 'Containers is -1 below 1.51');
    const v142 = await api.http().get('/v1.42/images/json?shared-size=1');
    const dangling = v142.body.find((i: { RepoTags: string[] }) => i.RepoTags[0] === '<none>:<none>');
    assert.deepEqual(dangling.RepoDigests, ['<none>@<none>']);
    assert.equal(dangling.VirtualSize, dangling.Size, 'VirtualSize below 1.44');
    assert.deepEqual(Object.keys(dangling).slice(-2), ['Size', 'VirtualSize']);
    const v141 = await api.http().get('/v1.41/images/json?shared-size=1');
    assert.ok(v141.body.every((i: { SharedSize: number }) => i.SharedSize === -1), 'shared-size is ignored below 1.42');
    const latest = await api.http().get('/images/json');
    assert.deepEqual(latest.body.find((i: { RepoTags: string[] }) => i.RepoTags.length === 0).RepoDigests, []);
    assert.equal('VirtualSize' in latest.body[0], false);
  });

  it('inspects by name with registry port and slashes, in dockerd 28\'s key order', async () => {
    const res = await api.http().get('/images/localhost:5000/team/app/json');
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'DockerVersion', 'Author',
      'Architecture', 'Os', 'Size', 'GraphDriver', 'RootFS', 'Metadata', 'Config']);
    assert.equal(res.body.Id, labelledId);
    assert.deepEqual(res.body.RepoTags, ['localhost:5000/team/app:latest']);
    assert.equal(res.body.Comment, 'Imported from -');
    assert.deepEqual(res.body.GraphDriver, { Data: null, Name: 'vfs' });
    assert.deepEqual(res.body.RootFS, { Type: 'layers', Layers: [sha256sum(await fileLayer('app', 'web app'))] });
    assert.match(res.body.Metadata.LastTagTime, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(res.body.Config, { Cmd: null, Entrypoint: null, Env: null, ExposedPorts: { '80/tcp': {} }, Labels: { tier: 'web' }, OnBuild: null, User: '', Volumes: null, WorkingDir: '' });
    const encoded = await api.http().get(`/images/${encodeURIComponent('localhost:5000/team/app:latest')}/json`);
    assert.equal(encoded.body.Id, labelledId);
    const missing = await api.http().get('/images/nope:1/json');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { message: 'No such image: nope:1' });
  });

  it('lowers inspect for older API versions', async () => {
    const v149 = (await api.http().get(`/v1.49/images/${baseId}/json`)).body;
    assert.deepEqual(Object.keys(v149.Config), ['AttachStderr', 'AttachStdin', 'AttachStdout', 'Cmd', 'Domainname', 'Entrypoint', 'Env', 'Hostname',
      'Image', 'Labels', 'OnBuild', 'OpenStdin', 'StdinOnce', 'Tty', 'User', 'Volumes', 'WorkingDir']);
    assert.equal('ContainerConfig' in v149, false);
    const v144 = (await api.http().get(`/v1.44/images/${baseId}/json`)).body;
    assert.equal(v144.ContainerConfig.Hostname, '');
    assert.equal('Container' in v144, false, 'Container only when set');
    assert.deepEqual(Object.keys(v144).slice(5, 7), ['Created', 'ContainerConfig']);
    assert.equal('VirtualSize' in v144, false);
    const v143 = (await api.http().get(`/v1.43/images/${baseId}/json`)).body;
    assert.equal(v143.VirtualSize, v143.Size);
  });

  it('shows the history, newest first', async () => {
    const res = await api.http().get('/images/base:1/history');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, [{ Id: baseId, Created: res.body[0].Created, CreatedBy: '', Tags: ['base:1'], Size: 'NAME=test\n'.length, Comment: 'first' }]);
  });

  it('tags with 201, refuses bad names with 400 and unknown images with 404', async () => {
    const ok = await api.http().post('/images/base:1/tag?repo=localhost:5000/x/base&tag=2');
    assert.equal(ok.status, 201);
    assert.equal(ok.text, '');
    assert.equal((await api.http().get('/images/localhost:5000/x/base:2/json')).body.Id, baseId);
    const bad = await api.http().post('/images/base:1/tag?repo=x&tag=-bad');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'invalid tag format');
    const missing = await api.http().post('/images/nope/tag?repo=x');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'No such image: nope:latest');
  });

  it('deletes with dockerd\'s records and conflicts', async () => {
    const conflict = await api.http().delete(`/images/${baseId.slice(7, 19)}`);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.message, `conflict: unable to delete ${baseId.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);
    const untag = await api.http().delete('/images/localhost:5000/x/base:2');
    assert.deepEqual(untag.body, [{ Untagged: 'localhost:5000/x/base:2' }]);
    const missing = await api.http().delete('/images/nope');
    assert.equal(missing.status, 404);
  });

  it('prunes dangling images and reports the space', async () => {
    const res = await api.http().post('/images/prune');
    assert.equal(res.status, 200);
    assert.equal(res.body.ImagesDeleted.length, 2, 'the image and its layer');
    assert.equal(res.body.SpaceReclaimed, 1);
    const none = await api.http().post(`/images/prune?filters=${encodeURIComponent('{"dangling":{"false":true},"label!":{"tier":true},"until":{"1":true}}')}`);
    assert.deepEqual(none.body, { ImagesDeleted: null, SpaceReclaimed: 0 });
    const bad = await api.http().post(`/images/prune?filters=${encodeURIComponent('{"reference":{"x":true}}')}`);
    assert.equal(bad.status, 400);
  });

  it('loads a docker-archive as a JSON stream; a bad archive is an in-band error', async () => {
    const layers = [await fileLayer('loaded', 'yes')];
    const config = configFor(layers);
    const res = await api.http().post('/images/load?quiet=1').set('Content-Type', 'application/x-tar')
      .send(await dockerArchive([{ config, layers, repoTags: ['loaded:1'] }])).parse(asText);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(messages(res.body), [{ stream: 'Loaded image: loaded:1\n' }]);
    assert.equal((await api.http().get('/images/loaded:1/json')).body.Id, sha256sum(config));
    const lying = configFor([await fileLayer('promised', 'p')]);
    const progress = await api.http().post('/images/load?quiet=0').send(await dockerArchive([{ config: lying, layers: [await fileLayer('other', 'z')] }])).parse(asText);
    const msgs = messages(progress.body);
    assert.equal(msgs[msgs.length - 1].errorDetail.message.startsWith('invalid diffID for layer 0'), true);
    assert.equal(msgs[0].status, 'Loading layer');
    const bad = await api.http().post('/images/load').send(Buffer.from('junk')).parse(asText);
    assert.equal(bad.status, 200);
    assert.match(messages(bad.body)[0].error, /invalid archive/);
  });

  it('saves one or several images as a tar', async () => {
    for (const path of ['/images/get?names=loaded:1&names=base:1', '/images/loaded:1/get']) {
      const res = await api.http().get(path).parse(asBuffer);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'application/x-tar');
      const names: string[] = [];
      const ex = tar.extract();
      Readable.from([res.body as Buffer]).pipe(ex as unknown as NodeJS.WritableStream);
      for await (const e of ex) { names.push(e.header.name); e.resume(); }
      assert.ok(names.includes('manifest.json') && names.includes('index.json') && names.includes('oci-layout'), names.join());
    }
    const missing = await api.http().get('/images/get?names=nope:1');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'reference does not exist');
  });

  it('answers a pull that fails before any output with its status, checks references first; search is 501', async () => {
    const pull = await api.http().post('/images/create?fromImage=127.0.0.1%3A1%2Falpine&tag=3.19');
    assert.equal(pull.status, 500);
    assert.match(pull.body.message, /^Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused$/);
    assert.equal((await api.http().post('/images/create?fromImage=scratch')).status, 403);
    assert.equal((await api.http().post('/images/create?fromImage=UPPER')).status, 400);
    const push = await api.http().post('/images/base:1/push?tag=bad%20tag');
    assert.equal(push.status, 400);
    assert.equal((await api.http().get('/images/search?term=x')).status, 501);
  });

  it('fills the image part of /system/df', async () => {
    const res = await api.http().get('/system/df');
    assert.ok(res.body.LayersSize > 0);
    assert.ok(res.body.Images.length >= 2);
    assert.ok(res.body.Images.every((i: { SharedSize: number }) => i.SharedSize >= 0));
    const v143 = await api.http().get('/v1.43/system/df');
    assert.ok(v143.body.Images.every((i: { VirtualSize: number; Size: number }) => i.VirtualSize === i.Size));
  });
});
