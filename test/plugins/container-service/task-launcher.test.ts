import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtensionPoint, type ContainerRecord, type TaskSpec } from '../../../kernel/index.js';
import { launchTask, type LaunchDeps } from '../../../plugins/container-service/task-launcher.js';
import { writeEtcFiles } from '../../../plugins/container-service/etc-files.js';

/** A promise with its resolve, to hold a step until the test lets it go. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: 'c'.repeat(64),
    Name: '/t',
    Driver: 'fake',
    Runtime: 'runc',
    Path: 'true',
    Args: [],
    Config: { Hostname: 'box', Env: [] },
    HostConfig: { NetworkMode: 'none' },
    MountPoints: {},
    State: { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '', FinishedAt: '' },
    ...over,
  } as unknown as ContainerRecord;
}

/**
 * launchTask against fakes of everything it calls: which step ran, what was
 * given back, and hooks to hold or fail each step.
 */
function fakes(dir: string) {
  const calls: string[] = [];
  const hold = { mount: Promise.resolve(), attach: Promise.resolve(), volumes: Promise.resolve(), log: Promise.resolve() };
  const fail: Partial<Record<'mount' | 'attach' | 'volumes' | 'log' | 'create', Error>> = {};
  let created: TaskSpec | undefined;
  const step = async (name: keyof typeof hold | 'create') => {
    calls.push(`${name}:begin`);
    if (name !== 'create') await hold[name];
    const err = fail[name];
    if (err) throw err;
    calls.push(`${name}:done`);
  };
  const graph = {
    name: 'fake',
    get: async () => { await step('mount'); return join(dir, 'rootfs'); },
    put: async () => { calls.push('put'); },
  };
  const network = {
    attach: async () => { await step('attach'); return { etc: undefined }; },
    detach: async () => { calls.push('detach'); },
  };
  const exec = {
    runtimes: () => [{ name: 'runc', path: '/bin/true' }],
    restore: async () => undefined,
    create: async (spec: TaskSpec) => {
      await step('create');
      created = spec;
      await writeFile(join(dir, 'output.log'), '');
      return { id: spec.id, pid: 1, output: { path: join(dir, 'output.log') } };
    },
  };
  const host = {
    current: (point: string) => (point === ExtensionPoint.GraphDriver ? graph : undefined),
    tryCurrent: (point: string) => (point === ExtensionPoint.NetworkService ? network : point === ExtensionPoint.GraphDriver ? graph : undefined),
    all: (point: string) => new Map(point === ExtensionPoint.ExecDriver ? [['fake-exec', exec]] : []),
    slot: () => ({ acquire: () => ({ instance: exec, release: () => calls.push('lease-released') }) }),
  };
  const deps: LaunchDeps = {
    host: host as never,
    logs: {
      open: async () => { await step('log'); return { path: join(dir, 'log.json'), write: () => undefined, flush: async () => undefined, close: async () => { calls.push('log-closed'); } }; },
    } as never,
    volumes: {
      mount: async () => { await step('volumes'); return []; },
      unmount: async () => { calls.push('volumes-unmounted'); },
    } as never,
    log: { warn: () => undefined, debug: () => undefined, info: () => undefined, error: () => undefined } as never,
    daemon: () => ({}) as never,
    networkPeer: () => { throw new Error('no peer in these tests'); },
    resolveContainer: () => { throw new Error('no other container in these tests'); },
  };
  return { deps, calls, hold, fail, created: () => created };
}

describe('launchTask: the steps before the runtime', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'task-launcher-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('mounts the rootfs, attaches the network, mounts volumes and opens the log side by side, then creates the task', async () => {
    const f = fakes(dir);
    const mount = deferred();
    f.hold.mount = mount.promise;
    const launching = launchTask(f.deps, record(), dir);
    // While the rootfs mount is held, every other step has run to its end.
    for (let i = 0; i < 50 && !['attach:done', 'volumes:done', 'log:done'].every((c) => f.calls.includes(c)); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(f.calls.includes('attach:done') && f.calls.includes('volumes:done') && f.calls.includes('log:done'), `calls: ${f.calls.join(' ')}`);
    assert.ok(!f.calls.includes('create:begin'), 'the task is created only once every step is done');
    mount.resolve();
    const { live, etc } = await launching;
    assert.equal(f.created()?.rootfs, join(dir, 'rootfs'));
    assert.equal(etc.HostnamePath, join(dir, 'hostname'));
    assert.equal(await readFile(etc.HostnamePath, 'utf8'), 'box\n');
    // The /etc files are bind-mounted into the container.
    assert.deepEqual((f.created()?.config.Mounts ?? []).map((m) => m.Destination).sort(), ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
    await live.pump.stop();
  });

  it('a failed step gives back what every other step took, once all have settled, with the first error in order', async () => {
    const f = fakes(dir);
    const log = deferred();
    f.hold.log = log.promise;
    f.fail.volumes = new Error('volume boom');
    f.fail.log = new Error('log boom');
    const launching = launchTask(f.deps, record(), dir);
    launching.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    // The volumes failed already, the log is still opening: nothing is undone yet.
    assert.ok(!f.calls.includes('put'), `calls: ${f.calls.join(' ')}`);
    log.resolve();
    await assert.rejects(launching, /volume boom/);
    assert.ok(f.calls.includes('put'), 'the rootfs is unmounted');
    assert.ok(f.calls.includes('detach'), 'the network sandbox is released');
    assert.ok(!f.calls.includes('volumes-unmounted'), 'volumes that failed to mount are not unmounted again');
    assert.ok(f.calls.includes('lease-released'), 'the driver lease is given back');
    assert.equal(f.calls.indexOf('lease-released'), f.calls.length - 1, 'the lease last');
    assert.ok(!f.calls.includes('create:begin'));
  });

  it('a failed mount is reported even when a later step fails too', async () => {
    const f = fakes(dir);
    f.fail.mount = new Error('mount boom');
    f.fail.log = new Error('log boom');
    await assert.rejects(launchTask(f.deps, record(), dir), /mount boom/);
    assert.ok(!f.calls.includes('put'), 'a rootfs that was not mounted is not put');
    assert.ok(f.calls.includes('detach') && f.calls.includes('volumes-unmounted'));
  });
});

describe('/etc files written at start', () => {
  it('writes hostname, hosts and resolv.conf, renamed into place with no temp file left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etc-files-'));
    try {
      const c = record({ HostConfig: { NetworkMode: 'none', ExtraHosts: ['db:10.0.0.2'], Dns: ['9.9.9.9'], DnsSearch: ['example.org'] } } as never);
      const files = await writeEtcFiles(dir, c, {} as never);
      assert.equal(await readFile(files.HostnamePath, 'utf8'), 'box\n');
      assert.match(await readFile(files.HostsPath, 'utf8'), /^127\.0\.0\.1\tlocalhost\n[\s\S]*10\.0\.0\.2\tdb\n$/);
      const resolv = await readFile(files.ResolvConfPath, 'utf8');
      assert.match(resolv, /^search example\.org$/m);
      assert.match(resolv, /^nameserver 9\.9\.9\.9$/m);
      assert.deepEqual((await readdir(dir)).sort(), ['hostname', 'hosts', 'resolv.conf']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
