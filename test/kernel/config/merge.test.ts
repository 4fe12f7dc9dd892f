import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BERTH_DEFAULTS, mergeConfig } from '../../../kernel/config/index.js';
import { InvalidParameterError } from '../../../kernel/errors.js';

test('a key given as flag and in the file is a conflict, in dockerd wording', () => {
  assert.throws(
    () => mergeConfig({ hosts: ['tcp://0.0.0.0:2375'], debug: true }, { hosts: ['unix:///x'] }),
    (err: unknown) => {
      assert.ok(err instanceof InvalidParameterError);
      assert.equal(err.message,
        'the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [unix:///x], from file: [tcp://0.0.0.0:2375])');
      return true;
    },
  );
});

test('all conflicts are listed, with proxy credentials masked', () => {
  assert.throws(
    () => mergeConfig({ 'http-proxy': 'http://user:secret@proxy:3128', debug: false }, { debug: true, 'http-proxy': 'http://me:pw@p:1' }),
    {
      message: 'the following directives are specified both as a flag and in the configuration file: '
        + 'debug: (from flag: true, from file: false), http-proxy: (from flag: http://xxxxx:xxxxx@p:1, from file: http://xxxxx:xxxxx@proxy:3128)',
    },
  );
});

test('runtimes from flag and file are merged, not a conflict', () => {
  const cfg = mergeConfig(
    { runtimes: { crun: { path: '/usr/bin/crun' }, kata: { runtimeType: 'io.containerd.kata.v2' } } },
    { runtimes: { crun: { path: '/flag/crun' }, youki: { path: '/usr/bin/youki' } } },
  );
  assert.deepEqual(cfg.runtimes, {
    crun: { path: '/usr/bin/crun' }, // the file's entry wins, as with dockerd's mergo
    kata: { runtimeType: 'io.containerd.kata.v2' },
    youki: { path: '/usr/bin/youki' },
  });
});

test('defaults make a complete config, with Berth paths', () => {
  const cfg = mergeConfig({}, {});
  assert.deepEqual(cfg.hosts, [BERTH_DEFAULTS.host]);
  assert.equal(cfg['data-root'], BERTH_DEFAULTS.dataRoot);
  assert.equal(cfg['exec-root'], BERTH_DEFAULTS.execRoot);
  assert.equal(cfg.pidfile, BERTH_DEFAULTS.pidfile);
  assert.equal(cfg['log-level'], 'info');
  assert.equal(cfg['default-runtime'], 'runc');
  assert.equal(cfg['max-concurrent-downloads'], 3);
  assert.equal(cfg['max-concurrent-uploads'], 5);
  assert.equal(cfg['shutdown-timeout'], 15);
  assert.equal(cfg.iptables, true);
  assert.deepEqual(cfg.berth, {});
  assert.deepEqual(cfg.labels, []);
  assert.equal(cfg['storage-driver'], undefined);
});

test('flags win over defaults, file values over defaults; caller defaults replace table defaults', () => {
  const cfg = mergeConfig({ 'log-level': 'debug' }, { 'data-root': '/srv/berth' }, { defaults: { 'exec-root': '/tmp/berth-exec' } });
  assert.equal(cfg['log-level'], 'debug');
  assert.equal(cfg['data-root'], '/srv/berth');
  assert.equal(cfg['exec-root'], '/tmp/berth-exec');
});

test('the result shares no arrays or maps with its inputs', () => {
  const file = { labels: ['a=b'], 'log-opts': { 'max-size': '1m' } };
  const cfg = mergeConfig(file, {});
  cfg.labels.push('c=d');
  cfg['log-opts']!['max-file'] = '3';
  assert.deepEqual(file, { labels: ['a=b'], 'log-opts': { 'max-size': '1m' } });
  const again = mergeConfig({}, {});
  again.hosts.push('tcp://x:1');
  assert.deepEqual(mergeConfig({}, {}).hosts, [BERTH_DEFAULTS.host]);
});

test('derived settings: tls/tlsverify, iptables=false → ip-masq=false, legacy host-gateway-ip', () => {
  assert.deepEqual([mergeConfig({ tls: true }, {}).tls, mergeConfig({ tls: true }, {}).tlsverify], [true, true]);
  assert.deepEqual([mergeConfig({ tlsverify: false }, {}).tls, mergeConfig({ tlsverify: false }, {}).tlsverify], [true, false]);
  assert.equal(mergeConfig({ iptables: false }, {})['ip-masq'], false);
  const hg = mergeConfig({ 'host-gateway-ip': '10.0.0.1' }, {});
  assert.deepEqual(hg['host-gateway-ips'], ['10.0.0.1']);
  assert.equal('host-gateway-ip' in hg, false);
  assert.throws(() => mergeConfig({ 'host-gateway-ip': '10.0.0.1', 'host-gateway-ips': ['10.0.0.2'] }, {}),
    { message: 'host-gateway-ip and host-gateway-ips must not both be specified in the config file' });
});

test('exact duplicate labels collapse', () => {
  assert.deepEqual(mergeConfig({ labels: ['a=1', 'b=2', 'a=1'] }, {}).labels, ['a=1', 'b=2']);
});

test('unknown or mistyped flag keys are rejected', () => {
  assert.throws(() => mergeConfig({}, { 'no-such-key': 1 }), { message: 'unknown flag configuration key: no-such-key' });
  assert.throws(() => mergeConfig({}, { debug: 'true' }), /Config\.debug of type bool/);
});
