import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH_DEFAULTS, loadDaemonConfig, reloadDaemonConfig, type DaemonConfig } from '../../../kernel/config/index.js';
import { InvalidParameterError } from '../../../kernel/errors.js';

let dir = '';
let n = 0;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-config-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

/** Writes a daemon.json (object → JSON, or raw bytes) to a fresh path. */
async function file(content: Record<string, unknown> | Buffer): Promise<string> {
  const path = join(dir, `daemon-${++n}.json`);
  await writeFile(path, Buffer.isBuffer(content) ? content : JSON.stringify(content));
  return path;
}

async function rejectsWith(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InvalidParameterError, `expected InvalidParameterError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('a missing default file is fine; a missing explicit file is an error', async () => {
  const missing = join(dir, 'nope.json');
  const cfg = await loadDaemonConfig({ file: missing, explicit: false, flags: { debug: true } });
  assert.equal(cfg.debug, true);
  assert.deepEqual(cfg.hosts, [BERTH_DEFAULTS.host]);
  await rejectsWith(loadDaemonConfig({ file: missing, explicit: true, flags: {} }),
    `unable to configure the Docker daemon with file ${missing}: open ${missing}: no such file or directory`);
});

test('every load error carries dockerd\'s file prefix', async () => {
  const p1 = await file({ hosts: ['tcp://0.0.0.0:2375'] });
  await rejectsWith(loadDaemonConfig({ file: p1, explicit: true, flags: { hosts: ['fd://'] } }),
    `unable to configure the Docker daemon with file ${p1}: the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [fd://], from file: [tcp://0.0.0.0:2375])`);
  const p2 = await file({ bip: 'not-a-cidr' });
  await rejectsWith(loadDaemonConfig({ file: p2, explicit: true, flags: {} }),
    `unable to configure the Docker daemon with file ${p2}: parse bip failed: invalid CIDR address: not-a-cidr`);
  const p3 = await file(Buffer.from('{"debug": tru}'));
  await rejectsWith(loadDaemonConfig({ file: p3, explicit: true, flags: {} }), new RegExp(`^unable to configure the Docker daemon with file ${p3}: invalid JSON: `));
});

test('a UTF-16LE file written by PowerShell loads', async () => {
  const json = JSON.stringify({ 'storage-driver': 'vfs', labels: ['site=lab'] });
  const p = await file(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')]));
  const cfg = await loadDaemonConfig({ file: p, explicit: true, flags: {} });
  assert.equal(cfg['storage-driver'], 'vfs');
  assert.deepEqual(cfg.labels, ['site=lab']);
});

async function started(content: Record<string, unknown>, flags: Record<string, unknown> = {}): Promise<{ path: string; cfg: DaemonConfig }> {
  const path = await file(content);
  return { path, cfg: await loadDaemonConfig({ file: path, explicit: true, flags }) };
}

test('reload: absent keys are kept, reset or replaced per key', async () => {
  const { path, cfg } = await started({
    debug: true, labels: ['a=1'], 'max-concurrent-downloads': 10, features: { cdi: true },
    'authorization-plugins': ['authz-x'], berth: { select: { 'graph-driver.v1': 'vfs' } },
  });
  await writeFile(path, JSON.stringify({ 'registry-mirrors': ['https://mirror.example.com'] }));
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.equal(r.config.debug, true, 'debug: keep');
  assert.deepEqual(r.config.labels, ['a=1'], 'labels: keep');
  assert.equal(r.config['max-concurrent-downloads'], 3, 'max-concurrent-downloads: reset to default');
  assert.deepEqual(r.config.features, {}, 'features: replaced wholesale');
  assert.deepEqual(r.config['authorization-plugins'], [], 'authorization-plugins: replaced');
  assert.deepEqual(r.config.berth, {}, 'berth: replaced');
  assert.deepEqual(r.config['registry-mirrors'], ['https://mirror.example.com']);
  assert.deepEqual(r.changed, ['authorization-plugins', 'berth', 'features', 'max-concurrent-downloads', 'registry-mirrors']);
  assert.deepEqual(r.ignored, []);
});

test('reload: present keys take the new value; maps are replaced, not merged', async () => {
  const { path, cfg } = await started({ debug: true, labels: ['a=1'], features: { cdi: true, buildkit: true } });
  await writeFile(path, JSON.stringify({ debug: false, labels: ['b=2'], features: { buildkit: false } }));
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.equal(r.config.debug, false);
  assert.deepEqual(r.config.labels, ['b=2']);
  assert.deepEqual(r.config.features, { buildkit: false });
  assert.deepEqual(r.changed, ['debug', 'features', 'labels']);
});

test('reload: non-reloadable keys keep the running value and are listed as ignored', async () => {
  const { path, cfg } = await started({ 'log-level': 'debug', 'storage-driver': 'vfs' });
  await writeFile(path, JSON.stringify({ 'storage-driver': 'overlay2', 'data-root': '/elsewhere' }));
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.equal(r.config['storage-driver'], 'vfs');
  assert.equal(r.config['log-level'], 'debug');
  assert.equal(r.config['data-root'], BERTH_DEFAULTS.dataRoot);
  assert.deepEqual(r.ignored, ['data-root', 'log-level', 'storage-driver']);
  assert.deepEqual(r.changed, []);
});

test('reload: reloadable runtime keys (default-runtime, runtimes) apply together', async () => {
  const { path, cfg } = await started({});
  await writeFile(path, JSON.stringify({ 'default-runtime': 'crun', runtimes: { crun: { path: '/usr/bin/crun' } } }));
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.equal(r.config['default-runtime'], 'crun');
  assert.deepEqual(r.config.runtimes, { crun: { path: '/usr/bin/crun' } });
  assert.deepEqual(r.changed, ['default-runtime', 'runtimes']);
});

test('reload: flags still count (conflicts are checked, flag values stay)', async () => {
  const { path, cfg } = await started({}, { debug: true });
  await writeFile(path, JSON.stringify({ debug: false }));
  await rejectsWith(reloadDaemonConfig(cfg, path, { debug: true }), /specified both as a flag and in the configuration file: debug: \(from flag: true, from file: false\)/);
  await writeFile(path, JSON.stringify({}));
  const r = await reloadDaemonConfig(cfg, path, { debug: true });
  assert.equal(r.config.debug, true);
  assert.deepEqual(r.changed, []);
});

test('reload with a bad file throws and leaves the current config untouched', async () => {
  const { path, cfg } = await started({ debug: true, labels: ['a=1'], berth: { disable: ['x'] } });
  const snapshot = structuredClone(cfg);
  for (const bad of [
    '{"debug": "yes"}', // wrong type
    '{"bogus": 1}', // unknown key
    '{"default-runtime": "nope"}', // fails validation of the merged result
    '{"berth": {"disable": "x"}}', // bad berth section
    '{', // bad JSON
  ]) {
    await writeFile(path, bad);
    await rejectsWith(reloadDaemonConfig(cfg, path, {}), new RegExp(`^unable to configure the Docker daemon with file ${path}: `));
    assert.deepEqual(cfg, snapshot, `current changed after ${bad}`);
  }
});

test('reload never mutates current, even on success', async () => {
  const { path, cfg } = await started({ labels: ['a=1'], runtimes: { crun: { path: '/usr/bin/crun' } } });
  const snapshot = structuredClone(cfg);
  await writeFile(path, JSON.stringify({ labels: ['b=2'], runtimes: { youki: { path: '/usr/bin/youki' } } }));
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.deepEqual(cfg, snapshot);
  assert.notEqual(r.config, cfg);
  r.config.labels.push('mutated=1');
  assert.deepEqual(cfg.labels, ['a=1']);
});

test('reload: a file that disappeared reloads as empty unless it was explicit', async () => {
  const { path, cfg } = await started({ 'max-concurrent-uploads': 9 });
  await rm(path);
  const r = await reloadDaemonConfig(cfg, path, {});
  assert.equal(r.config['max-concurrent-uploads'], 5);
  await rejectsWith(reloadDaemonConfig(cfg, path, {}, { explicit: true }), /no such file or directory$/);
});
