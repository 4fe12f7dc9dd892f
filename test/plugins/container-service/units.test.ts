import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalName, generateName } from '../../../plugins/container-service/names.js';
import { humanDuration } from '../../../plugins/container-service/human-duration.js';
import { commandOf, mergeImageConfig } from '../../../plugins/container-service/merge-image-config.js';
import { validateHostConfig, chooseRuntime } from '../../../plugins/container-service/host-config-rules.js';
import { statusText } from '../../../plugins/container-service/container-view.js';
import { selectContainers } from '../../../plugins/container-service/list-filter.js';
import { Filters } from '../../../api-compat/http/filters.js';
import type { ContainerRecord } from '../../../kernel/index.js';

function rec(id: string, name: string, created: string, status: ContainerRecord['State']['Status'], extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: id.padEnd(64, '0'), Name: `/${name}`, Created: created, Path: 'sh', Args: [], Image: 'sha256:' + 'a'.repeat(64), ImageName: 'busybox',
    Config: { Image: 'busybox', Labels: {} }, HostConfig: {}, NetworkingConfig: { EndpointsConfig: {} },
    State: { Status: status, Running: status === 'running', Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: created, FinishedAt: '0001-01-01T00:00:00Z' },
    Driver: 'vfs', Runtime: 'runc', RestartCount: 0, Platform: 'linux', ...extra,
  };
}

describe('container names', () => {
  it('follows dockerd: at least two characters, a leading slash added', () => {
    assert.equal(canonicalName('web'), '/web');
    assert.equal(canonicalName('/web.1_a-b'), '/web.1_a-b');
    assert.throws(() => canonicalName('x'), /^InvalidParameterError: Invalid container name \(x\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed$/);
    assert.throws(() => canonicalName('-bad'), /Invalid container name/);
  });

  it('generates adjective_surname names that are valid', () => {
    for (let i = 0; i < 50; i++) {
      const n = generateName();
      assert.match(n, /^[a-z]+_[a-z]+$/);
      assert.notEqual(n, 'boring_wozniak');
      canonicalName(n);
    }
    assert.match(generateName(3), /^[a-z]+_[a-z]+\d$/);
  });
});

describe('humanDuration (go-units)', () => {
  it('matches dockerd status wording', () => {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(11_000), '11 seconds');
    assert.equal(humanDuration(90_000), 'About a minute');
    assert.equal(humanDuration(4 * 60_000), '4 minutes');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(5 * 3_600_000), '5 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
  });

  it('renders docker ps STATUS strings', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const up = rec('a', 'up', '2026-01-01T00:06:00Z', 'running');
    assert.equal(statusText(up, now), 'Up 4 minutes');
    const ex = rec('b', 'ex', '2026-01-01T00:00:00Z', 'exited');
    ex.State = { ...ex.State, ExitCode: 3, FinishedAt: '2026-01-01T00:09:49Z' };
    assert.equal(statusText(ex, now), 'Exited (3) 11 seconds ago');
    assert.equal(statusText(rec('c', 'cr', '2026-01-01T00:00:00Z', 'created'), now), 'Created');
  });
});

describe('image config merge', () => {
  const image = { Cmd: ['sh'], Entrypoint: null, Env: ['PATH=/bin', 'A=1'], WorkingDir: '/w', ExposedPorts: { '80/tcp': {} }, Labels: { a: 'img', b: 'img' } };

  it('takes the image Cmd only when neither Cmd nor Entrypoint is given, and Env by key', () => {
    const m = mergeImageConfig({ Image: 'x', Env: ['A=2'], Labels: { b: 'user' } }, image);
    assert.deepEqual(m.Cmd, ['sh']);
    assert.deepEqual(m.Env, ['PATH=/bin', 'A=2']);
    assert.equal(m.WorkingDir, '/w');
    assert.deepEqual(m.Labels, { a: 'img', b: 'user' });
    assert.deepEqual(commandOf(m), { path: 'sh', args: [] });
    const ep = mergeImageConfig({ Image: 'x', Entrypoint: ['echo'] }, image);
    assert.equal(ep.Cmd, undefined);
    assert.deepEqual(commandOf(ep), { path: 'echo', args: [] });
    assert.throws(() => commandOf({ Cmd: null, Entrypoint: null }), /No command specified/);
  });
});

describe('HostConfig rules', () => {
  it('refuses AutoRemove with a restart policy and bad policies, with dockerd wording', () => {
    assert.throws(() => validateHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'always' } }), /can't create 'AutoRemove' container with restart policy/);
    assert.throws(() => validateHostConfig({ RestartPolicy: { Name: 'sometimes' } }), /invalid restart policy 'sometimes'/);
    assert.throws(() => validateHostConfig({ RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } }), /maximum retry count can only be used with 'on-failure'/);
    validateHostConfig({ AutoRemove: true, RestartPolicy: { Name: 'no' } });
  });

  it('picks the requested, then the default runtime, and refuses unknown ones', () => {
    const known = new Set(['runc', 'crun']);
    assert.equal(chooseRuntime(undefined, undefined, known), 'runc');
    assert.equal(chooseRuntime(undefined, 'crun', known), 'crun');
    assert.throws(() => chooseRuntime('kata', 'runc', known), /unknown or invalid runtime name: kata/);
  });
});

describe('docker ps selection', () => {
  const a = rec('aaa', 'alpha', '2026-01-01T00:00:01Z', 'running', { Config: { Image: 'busybox', Labels: { tier: 'web' } } });
  const b = rec('bbb', 'beta', '2026-01-01T00:00:02Z', 'created');
  const c = rec('ccc', 'gamma', '2026-01-01T00:00:03Z', 'exited');
  const all = [a, b, c];
  const q = (filters: string, extra: { all?: boolean; limit?: number } = {}) => selectContainers(all, {
    all: extra.all ?? false, limit: extra.limit ?? 0, filters: Filters.parse(filters),
    resolve: (r) => all.find((x) => x.Name === `/${r}`)!, imageMatches: (x, anc) => x.ImageName === anc,
  }).map((x) => x.Name);

  it('shows running ones by default, everything with all, newest first, limit', () => {
    assert.deepEqual(q(''), ['/alpha']);
    assert.deepEqual(q('', { all: true }), ['/gamma', '/beta', '/alpha']);
    assert.deepEqual(q('', { limit: 2 }), ['/gamma', '/beta']);
  });

  it('filters by status, name (regexp), label, before/since, ancestor', () => {
    assert.deepEqual(q('{"status":{"created":true}}'), ['/beta']);
    assert.deepEqual(q('{"name":{"^g":true}}', { all: true }), ['/gamma']);
    assert.deepEqual(q('{"label":{"tier=web":true}}', { all: true }), ['/alpha']);
    assert.deepEqual(q('{"before":{"gamma":true}}', { all: true }), ['/beta', '/alpha']);
    assert.deepEqual(q('{"since":{"alpha":true}}', { all: true }), ['/gamma', '/beta']);
    assert.deepEqual(q('{"ancestor":{"busybox":true}}', { all: true }).length, 3);
    assert.throws(() => q('{"status":{"sleeping":true}}'), /invalid filter 'status=sleeping'/);
  });
});
