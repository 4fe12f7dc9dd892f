import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictError,
  EventBus,
  InvalidParameterError,
  NotFoundError,
  SystemError,
  silentLogger,
  type DockerEvent,
} from '../../../kernel/index.js';
import { LocalVolumeService } from '../../../plugins/volume-local/local-volume-service.js';
import { isMountPoint } from '../../../plugins/volume-local/local-mount.js';
import volumeLocal from '../../../plugins/volume-local/manifest.js';

const isRoot = process.getuid?.() === 0;

/** A service on a fresh temp root, with the Docker events it emits. */
async function fresh(root?: string) {
  const dir = root ?? (await mkdtemp(join(tmpdir(), 'berth-vol-')));
  const events: DockerEvent[] = [];
  const bus = new EventBus(silentLogger);
  bus.on('docker.event', (e) => events.push(e));
  const svc = await LocalVolumeService.open({ root: join(dir, 'volumes'), events: bus, log: silentLogger });
  return { dir, root: join(dir, 'volumes'), svc, events, actions: () => events.map((e) => `${e.Action} ${e.Actor.ID}`) };
}

/** Unmounts whatever a failed test left mounted under `dir`, then deletes it. */
async function cleanup(dir: string) {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(dir)) execFileSync('umount', ['-l', mp]);
  }
  await rm(dir, { recursive: true, force: true });
}

const errorIs = (cls: Function, msg: string) => (e: Error) => e instanceof cls && e.message === msg;

describe('local volume service', () => {
  let t: Awaited<ReturnType<typeof fresh>>;
  before(async () => { t = await fresh(); });
  after(async () => { await cleanup(t.dir); });

  it('creates a named volume under volumes/<name>/_data with its metadata', async () => {
    const v = await t.svc.create({ name: 'data1', labels: { app: 'web' } });
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v.Name, 'data1');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.deepEqual(v.Labels, { app: 'web' });
    assert.equal(v.Options, null);
    assert.equal(v.Mountpoint, join(t.root, 'data1', '_data'));
    assert.ok(Math.abs(Date.parse(v.CreatedAt) - Date.now()) < 5000);
    assert.equal((await stat(v.Mountpoint)).mode & 0o777, 0o755);
    assert.equal((await stat(join(t.root, 'data1'))).mode & 0o777, 0o701);
    assert.equal((await stat(t.root)).mode & 0o777, 0o701);
    const meta = join(t.root, 'data1', 'metadata.json');
    assert.equal((await stat(meta)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(meta, 'utf8')).Labels, { app: 'web' });
    assert.equal(existsSync(join(t.root, 'data1', 'opts.json')), false, 'no opts.json without options');
    assert.deepEqual(await t.svc.get('data1'), v);
    assert.deepEqual(t.events.at(-1)!.Actor, { ID: 'data1', Attributes: { driver: 'local' } });
    assert.equal(t.events.at(-1)!.Type, 'volume');
  });

  it('create is idempotent: the existing volume comes back unchanged, no second event', async () => {
    const n = t.events.length;
    const first = await t.svc.get('data1');
    const again = await t.svc.create({ name: 'data1', driver: 'local', labels: { other: 'x' }, driverOpts: { bogus: '1' } });
    assert.deepEqual(again, first);
    assert.equal(t.events.length, n);
  });

  it('refuses other drivers, bad names and bad options with dockerd wording, leaving nothing behind', async () => {
    await assert.rejects(t.svc.create({ name: 'v2', driver: 'nfsplug' }),
      errorIs(NotFoundError, 'create v2: error looking up volume plugin nfsplug: plugin "nfsplug" not found'));
    await assert.rejects(t.svc.create({ name: 'data1', driver: 'nfsplug' }), NotFoundError);
    await assert.rejects(t.svc.create({ name: 'x' }),
      errorIs(InvalidParameterError, 'create x: volume name is too short, names should be at least two alphanumeric characters'));
    await assert.rejects(t.svc.create({ name: 'bad', driverOpts: { foo: 'bar' } }), errorIs(InvalidParameterError, 'create bad: invalid option: "foo"'));
    await assert.rejects(t.svc.create({ name: 'bad', driverOpts: { type: 'tmpfs' } }), errorIs(InvalidParameterError, 'create bad: missing required option: "device"'));
    assert.deepEqual((await readdir(t.root)).sort(), ['data1']);
  });

  it('anonymous volumes get a 64-hex name and the anonymous label', async () => {
    const v = await t.svc.create({ labels: { keep: 'me' } });
    assert.match(v.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(v.Labels, { keep: 'me', 'com.docker.volume.anonymous': '' });
    await t.svc.remove(v.Name);
  });

  it('answers unknown names with get <name>: no such volume; force removes nothing quietly', async () => {
    await assert.rejects(t.svc.get('nope'), errorIs(NotFoundError, 'get nope: no such volume'));
    await assert.rejects(t.svc.remove('nope'), errorIs(NotFoundError, 'get nope: no such volume'));
    await assert.rejects(t.svc.acquire('nope', 'c1'), errorIs(NotFoundError, 'get nope: no such volume'));
    await t.svc.remove('nope', { force: true });
    await t.svc.release('nope', 'c1');
  });

  it('counts references: a used volume cannot be removed, not even with force', async () => {
    await t.svc.create({ name: 'shared', ref: 'c1' });
    await t.svc.acquire('shared', 'c2');
    assert.deepEqual(t.svc.references('shared'), ['c1', 'c2']);
    await assert.rejects(t.svc.remove('shared'), errorIs(ConflictError, 'remove shared: volume is in use - [c1, c2]'));
    await assert.rejects(t.svc.remove('shared', { force: true }), ConflictError);
    const dangling = (await t.svc.list({ dangling: ['true'] })).volumes.map((v) => v.Name);
    assert.ok(!dangling.includes('shared'));
    await t.svc.release('shared', 'c1');
    await t.svc.release('shared', 'c1');
    await assert.rejects(t.svc.remove('shared'), errorIs(ConflictError, 'remove shared: volume is in use - [c2]'));
    await t.svc.release('shared', 'c2');
    await t.svc.remove('shared');
    assert.equal(existsSync(join(t.root, 'shared')), false);
    assert.deepEqual(t.actions().slice(-2), ['create shared', 'destroy shared']);
  });

  it('lists sorted by name with filters', async () => {
    await t.svc.create({ name: 'zeta', labels: { tier: 'db' } });
    await t.svc.create({ name: 'alpha', labels: { tier: 'web' } });
    await t.svc.acquire('alpha', 'c9');
    const all = await t.svc.list();
    assert.deepEqual(all.volumes.map((v) => v.Name), ['alpha', 'data1', 'zeta']);
    assert.deepEqual(all.warnings, []);
    assert.deepEqual((await t.svc.list({ label: ['tier'] })).volumes.map((v) => v.Name), ['alpha', 'zeta']);
    assert.deepEqual((await t.svc.list({ label: ['tier=db'] })).volumes.map((v) => v.Name), ['zeta']);
    assert.deepEqual((await t.svc.list({ name: ['al', 'data1'] })).volumes.map((v) => v.Name), ['alpha', 'data1']);
    assert.deepEqual((await t.svc.list({ dangling: ['false'] })).volumes.map((v) => v.Name), ['alpha']);
    assert.deepEqual((await t.svc.list({ driver: ['local'] })).volumes.length, 3);
    await t.svc.release('alpha', 'c9');
  });

  it('prunes unused anonymous volumes by default and all unused ones with all=true', async () => {
    const anon = await t.svc.create({});
    const anonUsed = await t.svc.create({ ref: 'c5' });
    await writeFile(join(anon.Mountpoint, 'f'), Buffer.alloc(3000));
    await t.svc.create({ name: 'tmpish', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    const r1 = await t.svc.prune();
    assert.deepEqual(r1, { VolumesDeleted: [anon.Name], SpaceReclaimed: 3000 });
    const pruneEvent = t.events.at(-1)!;
    assert.deepEqual([pruneEvent.Action, pruneEvent.Actor.ID, pruneEvent.Actor.Attributes.reclaimed], ['prune', '', '3000']);
    await writeFile(join(t.root, 'zeta', '_data', 'z'), 'zz');
    const r2 = await t.svc.prune({ all: ['true'], 'label!': ['tier=web'] });
    assert.deepEqual(r2, { VolumesDeleted: ['data1', 'zeta'], SpaceReclaimed: 2 });
    const left = (await t.svc.list()).volumes.map((v) => v.Name).sort();
    assert.deepEqual(left, [anonUsed.Name, 'alpha', 'tmpish'].sort(), 'used, label!-excluded and option volumes stay');
    await t.svc.release(anonUsed.Name, 'c5');
    await t.svc.remove(anonUsed.Name);
    await t.svc.remove('tmpish');
  });

  it('reports usage for df: size and references of volumes without options', async () => {
    await t.svc.create({ name: 'sized', ref: 'c1' });
    await t.svc.create({ name: 'withopts', driverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    await mkdir(join(t.root, 'sized', '_data', 'sub'));
    await writeFile(join(t.root, 'sized', '_data', 'sub', 'a'), Buffer.alloc(1234));
    execFileSync('ln', [join(t.root, 'sized', '_data', 'sub', 'a'), join(t.root, 'sized', '_data', 'hardlink')]);
    const usage = await t.svc.usage();
    const sized = usage.find((v) => v.Name === 'sized')!;
    assert.deepEqual(sized.UsageData, { Size: 1234, RefCount: 1 });
    assert.equal(usage.find((v) => v.Name === 'withopts'), undefined);
    assert.deepEqual(usage.find((v) => v.Name === 'alpha')!.UsageData, { Size: 0, RefCount: 0 });
    await t.svc.release('sized', 'c1');
    await t.svc.remove('sized');
    await t.svc.remove('withopts');
  });

  it('never removes outside the volumes root through a symlinked _data', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'berth-vol-outside-'));
    try {
      await writeFile(join(outside, 'precious'), 'keep');
      const v = await t.svc.create({ name: 'evil' });
      await rm(v.Mountpoint, { recursive: true });
      await symlink(outside, v.Mountpoint);
      await assert.rejects(t.svc.remove('evil'), (e: Error) => e instanceof SystemError && /unable to remove a directory outside of the local volume root/.test(e.message));
      assert.equal(await readFile(join(outside, 'precious'), 'utf8'), 'keep');
      await rm(v.Mountpoint);
      await t.svc.remove('evil');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('is the volume-service.v1 plugin named local, never swapped live', () => {
    assert.equal(volumeLocal.id, 'volume-local');
    assert.equal(volumeLocal.point, 'volume-service.v1');
    assert.equal(volumeLocal.name, 'local');
    assert.equal(volumeLocal.swap, 'restart-only');
    assert.deepEqual(t.svc.drivers(), ['local']);
  });
});

describe('local volume persistence', () => {
  it('a new instance restores names, labels, options and CreatedAt, but not references', async () => {
    const a = await fresh();
    try {
      const v1 = await a.svc.create({ name: 'keep', labels: { k: 'v' }, ref: 'c1' });
      const v2 = await a.svc.create({ name: 'opts', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }, labels: {} });
      const anon = await a.svc.create({});
      assert.deepEqual(JSON.parse(await readFile(join(a.root, 'opts', 'opts.json'), 'utf8')),
        { MountType: 'tmpfs', MountOpts: 'size=1m', MountDevice: 'tmpfs', Quota: { Size: 0 } });
      const b = await fresh(a.dir);
      assert.deepEqual(await b.svc.get('keep'), v1);
      assert.deepEqual(await b.svc.get('opts'), v2);
      assert.deepEqual((await b.svc.get('opts')).Labels, {}, 'an empty label map stays {}');
      assert.deepEqual(await b.svc.get(anon.Name), anon);
      assert.deepEqual(b.svc.references('keep'), []);
      assert.deepEqual(b.events, [], 'restoring emits nothing');
    } finally {
      await cleanup(a.dir);
    }
  });

  it('a crash mid-write leaves the old metadata in force; stray temp files and non-volumes are ignored', async () => {
    const a = await fresh();
    try {
      const v = await a.svc.create({ name: 'solid', labels: { v: '1' } });
      // What writeFileAtomic leaves when killed between writing the temp file and renaming it.
      await writeFile(join(a.root, 'solid', `.metadata.json.${process.pid}.${Date.now()}.tmp`), '{"Name":"solid","Labels":{"v":"2"');
      await writeFile(join(a.root, `.stray.${process.pid}.tmp`), 'x');
      await mkdir(join(a.root, 'not-a-volume'));
      // A crash after mkdir of _data but before any metadata was written.
      await mkdir(join(a.root, 'half', '_data'), { recursive: true });
      const b = await fresh(a.dir);
      assert.deepEqual(await b.svc.get('solid'), v);
      assert.deepEqual((await readdir(join(a.root, 'solid'))).sort(), ['_data', 'metadata.json'], 'the temp file was cleaned up');
      const names = (await b.svc.list()).volumes.map((x) => x.Name);
      assert.deepEqual(names, ['half', 'solid']);
      assert.equal((await b.svc.get('half')).Labels, null);
      // A torn metadata.json (written by something that was not atomic) falls back the same way.
      await writeFile(join(a.root, 'solid', 'metadata.json'), '{"Na');
      const c = await fresh(a.dir);
      assert.equal((await c.svc.get('solid')).Labels, null);
    } finally {
      await cleanup(a.dir);
    }
  });
});

describe('local volume mounts', { skip: isRoot ? false : 'mounting needs root' }, () => {
  it('mounts a tmpfs volume at first use, keeps it for every mount ref, unmounts after the last', async () => {
    const t = await fresh();
    try {
      await t.svc.create({ name: 'scratch', driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
      const path = join(t.root, 'scratch', '_data');
      assert.equal(await isMountPoint(path), false, 'create does not mount');
      assert.equal(await t.svc.mount('scratch', 'm1', { container: 'c1', destination: '/data' }), path);
      assert.equal(await isMountPoint(path), true);
      const line = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').find((l) => l.split(' ')[4] === path)!;
      assert.match(line, / - tmpfs tmpfs .*size=1024k/);
      await writeFile(join(path, 'f'), 'in tmpfs');
      assert.equal(await t.svc.mount('scratch', 'm2'), path);
      await t.svc.unmount('scratch', 'm1');
      assert.equal(await isMountPoint(path), true, 'm2 still uses it');
      await assert.rejects(t.svc.remove('scratch'), errorIs(SystemError, 'remove scratch: volume has active mounts'));
      await t.svc.unmount('scratch', 'm2');
      assert.equal(await isMountPoint(path), false);
      assert.equal(existsSync(join(path, 'f')), false, 'the tmpfs content went with the mount');
      const mountEvents = t.events.filter((e) => e.Action === 'mount' || e.Action === 'unmount');
      assert.deepEqual(mountEvents.map((e) => e.Action), ['mount', 'mount', 'unmount', 'unmount']);
      assert.deepEqual(mountEvents[0]!.Actor.Attributes, { driver: 'local', container: 'c1', destination: '/data' });
      await t.svc.remove('scratch');
    } finally {
      await cleanup(t.dir);
    }
  });

  it('binds a host directory with type=none o=bind', async () => {
    const t = await fresh();
    try {
      const src = join(t.dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'hello'), 'from host');
      await t.svc.create({ name: 'bound', driverOpts: { type: 'none', device: src, o: 'bind' } });
      const path = await t.svc.mount('bound', 'm1');
      assert.equal(await readFile(join(path, 'hello'), 'utf8'), 'from host');
      await t.svc.unmount('bound', 'm1');
      assert.equal(existsSync(join(path, 'hello')), false);
      await t.svc.remove('bound');
      assert.equal(await readFile(join(src, 'hello'), 'utf8'), 'from host', 'removing the volume leaves the bound source alone');
    } finally {
      await cleanup(t.dir);
    }
  });

  it('a mount that fails is an error and leaves the volume unmounted', async () => {
    const t = await fresh();
    try {
      await t.svc.create({ name: 'broken', driverOpts: { type: 'nosuchfs', device: 'x' } });
      await assert.rejects(t.svc.mount('broken', 'm1'), (e: Error) => e instanceof SystemError && e.message.startsWith('failed to mount local volume: '));
      assert.equal(await isMountPoint(join(t.root, 'broken', '_data')), false);
      await t.svc.remove('broken');
    } finally {
      await cleanup(t.dir);
    }
  });

  it('after a restart a still-mounted volume is recognised and unmounted on remove', async () => {
    const a = await fresh();
    try {
      await a.svc.create({ name: 'live', driverOpts: { type: 'tmpfs', device: 'tmpfs' } });
      const path = await a.svc.mount('live', 'm1');
      const b = await fresh(a.dir);
      assert.equal(await isMountPoint(path), true);
      await b.svc.remove('live');
      assert.equal(await isMountPoint(path), false);
      assert.equal(existsSync(join(a.root, 'live')), false);
    } finally {
      await cleanup(a.dir);
    }
  });
});
