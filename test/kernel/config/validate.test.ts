import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configProblems, mergeConfig, validateConfig } from '../../../kernel/config/index.js';
import { InvalidParameterError } from '../../../kernel/errors.js';

/** The problems a file (merged with defaults) has. */
const problems = (file: Record<string, unknown>) => configProblems(mergeConfig(file, {}));

test('the default config is valid', () => {
  assert.doesNotThrow(() => validateConfig(mergeConfig({}, {})));
});

test('a bad CIDR names the key', () => {
  assert.deepEqual(problems({ bip: '192.168.1.300/24' }), ['parse bip failed: invalid CIDR address: 192.168.1.300/24']);
  assert.deepEqual(problems({ bip: '192.168.1.5' }), ['parse bip failed: invalid CIDR address: 192.168.1.5']);
  assert.deepEqual(problems({ 'fixed-cidr': '10.0.0.0/33' }), ['parse fixed-cidr failed: invalid CIDR address: 10.0.0.0/33']);
  assert.deepEqual(problems({ 'fixed-cidr-v6': '10.0.0.0/24' }), ['invalid fixed-cidr-v6: invalid CIDR address: 10.0.0.0/24']);
  assert.deepEqual(problems({ 'default-address-pools': [{ base: 'nope', size: 24 }] }), ['invalid default-address-pools: invalid CIDR address: nope']);
  assert.deepEqual(problems({ bip: '192.168.1.5/24', 'fixed-cidr': '192.168.1.0/25', 'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }] }), []);
});

test('IPs and domains', () => {
  assert.deepEqual(problems({ dns: ['8.8.8.8', 'dns.google'] }), ['invalid IP address in dns: dns.google']);
  assert.deepEqual(problems({ ip: '::1', 'default-gateway': '1.2.3' }), ['invalid IP address in default-gateway: 1.2.3']);
  assert.deepEqual(problems({ 'dns-search': ['example.com', '.', '123456'] }), ['123456 is not a valid domain']);
  assert.deepEqual(problems({ 'host-gateway-ips': ['10.0.0.1', '10.0.0.2'] }), ['only one IPv4 host gateway IP address can be specified']);
});

test('default-runtime must be built in (runc, lxc) or configured', () => {
  assert.deepEqual(problems({ 'default-runtime': 'crun' }), ["specified default runtime 'crun' does not exist"]);
  assert.deepEqual(problems({ 'default-runtime': 'lxc' }), []);
  assert.deepEqual(problems({ 'default-runtime': 'crun', runtimes: { crun: { path: '/usr/bin/crun' } } }), []);
});

test('runtime entries follow dockerd rules', () => {
  assert.deepEqual(problems({ runtimes: { runc: { path: '/usr/bin/runc' } } }), ["runtime name 'runc' is reserved"]);
  assert.deepEqual(problems({ runtimes: { lxc: { path: '/usr/bin/crun' } } }), ["runtime name 'lxc' is reserved"]);
  assert.deepEqual(problems({ runtimes: { a: {}, b: { path: '/x', runtimeType: 'io.containerd.b.v2' }, c: { path: '/x', options: { k: 1 } }, d: { runtimeType: 'io.containerd.d.v2', runtimeArgs: ['--x'] } } }), [
    'runtime a: either a runtimeType or a path must be configured',
    'runtime b: cannot configure both path and runtimeType for the same runtime',
    'runtime c: options cannot be used with a path runtime',
    'runtime d: args cannot be used with a runtimeType runtime',
  ]);
});

test('hosts: schemes, and no path element in tcp addresses', () => {
  assert.deepEqual(problems({ hosts: ['unix:///run/x.sock', 'tcp://0.0.0.0:2375', 'fd://', '127.0.0.1:2376'] }), []);
  assert.deepEqual(problems({ hosts: ['127.0.0.1:2375/path'] }), ['invalid bind address (127.0.0.1:2375/path): should not contain a path element']);
  assert.deepEqual(problems({ hosts: ['tcp://h:0', 'udp://h:1'] }), ['invalid bind address (tcp://h:0): invalid port: 0', "invalid bind address (udp://h:1): unsupported proto 'udp'"]);
});

test('dockerd Validate() strings', () => {
  assert.deepEqual(problems({ 'log-level': 'foobar' }), ['invalid logging level: foobar']);
  assert.deepEqual(problems({ 'log-format': 'x' }), ['invalid log format: x']);
  assert.deepEqual(problems({ labels: ['one'] }), ['bad attribute format: one']);
  assert.deepEqual(problems({ labels: ['a=1', 'a=2'] }), ['conflict labels for a=2 and a=1']);
  assert.deepEqual(problems({ mtu: -10 }), ['invalid default MTU: -10']);
  assert.deepEqual(problems({ 'max-concurrent-downloads': -1, 'max-concurrent-uploads': -1, 'max-download-attempts': -1 }),
    ['invalid max concurrent downloads: -1', 'invalid max concurrent uploads: -1', 'invalid max download attempts: -1']);
  assert.deepEqual(problems({ 'network-diagnostic-port': 65536 }), ['invalid network-diagnostic-port (65536): value must be between 0 and 65535']);
  assert.deepEqual(problems({ 'registry-mirrors': ['ftp://mirror.example.com'] }),
    [`invalid mirror: unsupported scheme "ftp" in "ftp://mirror.example.com": must use either 'https://' or 'http://'`]);
  assert.deepEqual(problems({ 'exec-opts': ['x', 'k=v', 'isolation=default', 'native.cgroupdriver=systemd'] }), [
    "invalid exec-opt (x): must be formatted 'opt=value'",
    "invalid exec-opt (k=v): unknown option: 'k'",
    "invalid exec-opt (isolation=default): option 'isolation' is only supported on windows",
  ]);
  assert.deepEqual(problems({ 'default-ipc-mode': 'x' }), ['default IPC mode setting (x) is invalid; use "shareable" or "private"']);
  assert.deepEqual(problems({ 'default-cgroupns-mode': 'x' }), ['invalid default cgroup namespace (x): use "host" or "private"']);
  assert.deepEqual(problems({ 'default-shm-size': '64Q' }), ["invalid size: '64Q'"]);
});

test('cross-key daemon settings', () => {
  assert.deepEqual(problems({ bridge: 'br0', bip: '10.0.0.1/24' }), ['You specified -b & --bip, mutually exclusive options. Please specify only one']);
  assert.deepEqual(problems({ iptables: false, icc: false }),
    ['You specified --iptables=false with --icc=false. ICC=false uses iptables to function. Please set --icc or --iptables to true']);
  assert.deepEqual(problems({ 'exec-opts': ['native.cgroupdriver=systemd'], 'cgroup-parent': 'foo' }),
    ['cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"']);
  assert.deepEqual(problems({ 'containerd-namespace': 'x', 'containerd-plugins-namespace': 'x' }), ['containers namespace and plugins namespace cannot be the same']);
});

test('storage drivers: aufs and overlay are removed; devicemapper, overlay2, btrfs, vfs are fine', () => {
  for (const d of ['devicemapper', 'overlay2', 'btrfs', 'vfs']) assert.deepEqual(problems({ 'storage-driver': d }), [], d);
  for (const d of ['aufs', 'overlay']) {
    const [msg, ...rest] = problems({ 'storage-driver': d });
    assert.deepEqual(rest, []);
    assert.match(msg!, new RegExp(`the ${d} storage-driver has been deprecated and removed`));
  }
});

test('berth section shape', () => {
  assert.deepEqual(problems({ berth: { plugins: { 'graph-overlay': { root: '/x' } }, disable: ['a'], require: ['b'], select: { 'graph-driver.v1': 'vfs' } } }), []);
  assert.deepEqual(problems({ berth: { plugins: { p: 'x' }, disable: 'a', require: [1], select: { s: 2 }, extra: true } }), [
    'invalid berth section: unknown key(s): extra',
    'invalid berth section: "plugins.p" must be an object',
    'invalid berth section: "disable" must be an array of plugin ids (strings)',
    'invalid berth section: "require" must be an array of plugin ids (strings)',
    'invalid berth section: "select" must map extension point ids to names (strings)',
  ]);
  assert.deepEqual(problems({ berth: { disable: ['p'], require: ['p'] } }), ['invalid berth section: plugin "p" is both disabled and required']);
});

test('validateConfig throws one InvalidParameterError with every problem, one per line', () => {
  const cfg = mergeConfig({ 'log-level': 'loud', bip: 'x', 'default-runtime': 'nope' }, {});
  assert.throws(() => validateConfig(cfg), (err: unknown) => {
    assert.ok(err instanceof InvalidParameterError);
    assert.equal(err.kind, 'invalid-parameter');
    assert.deepEqual(err.message.split('\n').sort(), [
      'invalid logging level: loud',
      'parse bip failed: invalid CIDR address: x',
      "specified default runtime 'nope' does not exist",
    ]);
    return true;
  });
});

test('a config assembled in code with wrong types is reported, not crashed on', () => {
  const cfg = mergeConfig({}, {});
  (cfg as Record<string, unknown>).labels = 'a=b';
  assert.deepEqual(configProblems(cfg), ['json: cannot unmarshal string into Go struct field Config.labels of type []string']);
});
