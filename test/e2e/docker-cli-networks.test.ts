import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:http';
import { dockerCliAvailable, networkTestConfig } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const composeAvailable = spawnSync('docker-compose', ['version']).status === 0;
const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** GET http://127.0.0.1:<port><path> from the host. */
function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).on('timeout', () => reject(new Error('timeout')));
  });
}

function iptables(table: string): string {
  return execFileSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' });
}

function links(): string {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
}

/** The CLI against a suite's daemon: `docker` returns the result, `ok` asserts exit 0 and returns stdout. */
function cli(daemon: () => ContainerDaemon) {
  const docker = (args: string[], timeoutMs = 60_000) => daemon().d.docker(args, { timeoutMs });
  const ok = (args: string[]) => {
    const r = docker(args);
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  return { docker, ok };
}

describe('docker networking with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  let cfg: Record<string, unknown>;
  let prefix: string;
  let bridge: string;
  const { docker, ok } = cli(() => c);

  before(async () => {
    cfg = networkTestConfig();
    const plugins = (cfg.berth as { plugins: Record<string, Record<string, string>> }).plugins;
    prefix = plugins['net-bridge']!.chainPrefix!;
    bridge = plugins['network-service']!.defaultBridge!;
    c = await startContainerDaemon(cfg);
  });
  after(async () => {
    if (!c) return;
    await c.stop();
    // Nothing of this daemon is left on the host.
    assert.doesNotMatch(iptables('nat') + iptables('filter'), new RegExp(prefix), 'iptables chains removed');
    assert.doesNotMatch(links(), new RegExp(`${bridge}:`), 'default bridge removed');
    assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), new RegExp(c.d.dir), 'no namespace mounts left');
  });

  it('has the predefined networks and a default bridge with outbound NAT in its own chains', () => {
    const ls = ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']).split('\n').sort();
    assert.deepEqual(ls, ['bridge bridge local', 'host host local', 'none null local']);
    const inspect = JSON.parse(ok(['network', 'inspect', 'bridge']))[0];
    assert.equal(inspect.Options['com.docker.network.bridge.name'], bridge);
    assert.equal(inspect.Options['com.docker.network.bridge.default_bridge'], 'true');
    const subnet = inspect.IPAM.Config[0].Subnet as string;
    assert.match(subnet, /^10\.\d+\.\d+\.0\/24$/);
    const nat = iptables('nat');
    assert.match(nat, new RegExp(`-A ${prefix}-POSTROUTING -s ${subnet.replace(/\./g, '\\.')} ! -o ${bridge} -j MASQUERADE`));
    assert.match(nat, new RegExp(`-A POSTROUTING -j ${prefix}-POSTROUTING`));
    assert.match(nat, new RegExp(`-A PREROUTING -m addrtype --dst-type LOCAL -j ${prefix}\\n`));
    assert.match(iptables('filter'), new RegExp(`-A FORWARD -j ${prefix}-FORWARD`));
    assert.equal(nat.split('\n').filter((l) => l.startsWith('-A POSTROUTING') && l.includes(prefix)).length, 1, 'one jump per built-in chain');
  });

  it('a container on the default bridge gets an address, gateway, MAC and /etc/hosts entry, shown in inspect', () => {
    const id = ok(['run', '-d', '--name', 'onbridge', 'bbox:1', 'sleep', '300']);
    const ns = JSON.parse(ok(['inspect', id]))[0].NetworkSettings;
    const ep = ns.Networks.bridge;
    assert.match(ep.IPAddress, /^10\./);
    assert.equal(ns.IPAddress, ep.IPAddress, 'legacy top-level fields for the default bridge');
    assert.equal(ns.Gateway, ep.Gateway);
    assert.equal(ep.MacAddress, `02:42:${ep.IPAddress.split('.').map((o: string) => Number(o).toString(16).padStart(2, '0')).join(':')}`);
    assert.match(ep.EndpointID, /^[0-9a-f]{64}$/);
    assert.equal(ep.DNSNames, null);
    assert.match(ns.SandboxKey, /\/netns\/[0-9a-f]{12}$/);
    const inside = ok(['exec', 'onbridge', 'sh', '-c', 'busybox ip -4 addr show eth0; busybox ip route; cat /etc/hosts']);
    assert.match(inside, new RegExp(`inet ${ep.IPAddress}/24`));
    assert.match(inside, new RegExp(`default via ${ep.Gateway}`));
    assert.match(inside, new RegExp(`${ep.IPAddress}\\t${id.slice(0, 12)}`));
    ok(['exec', 'onbridge', 'busybox', 'ping', '-c', '1', '-W', '5', ep.Gateway]);
    ok(['rm', '-f', 'onbridge']);
  });

  it('legacy --link on the default bridge: variables and an /etc/hosts entry as dockerd, a stopped target refused', () => {
    ok(['run', '-d', '--name', 'linksrv', '--hostname', 'srvhost', '-e', 'FOO=bar', '-e', 'SHARED=theirs', '--expose', '80', '--expose', '81', '--expose', '53/udp', 'bbox:1', 'sleep', '300']);
    const ip = ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'linksrv']);
    assert.match(ip, /^10\./);
    const env = ok(['run', '--rm', '--name', 'linkcli', '--link', 'linksrv:db', '-e', 'DB_ENV_SHARED=mine', 'bbox:1', 'busybox', 'env']).split('\n');
    for (const want of [
      `DB_PORT=tcp://${ip}:80`, `DB_PORT_80_TCP=tcp://${ip}:80`, `DB_PORT_80_TCP_ADDR=${ip}`, `DB_PORT_80_TCP_PORT=80`, `DB_PORT_80_TCP_PROTO=tcp`,
      `DB_PORT_81_TCP=tcp://${ip}:81`, `DB_PORT_80_TCP_START=tcp://${ip}:80`, 'DB_PORT_80_TCP_PORT_START=80', `DB_PORT_80_TCP_END=tcp://${ip}:81`, 'DB_PORT_80_TCP_PORT_END=81',
      `DB_PORT_53_UDP=udp://${ip}:53`, 'DB_PORT_53_UDP_PROTO=udp', 'DB_NAME=/linkcli/db', 'DB_ENV_FOO=bar', 'DB_ENV_SHARED=mine',
    ]) assert.ok(env.includes(want), `${want} in\n${env.join('\n')}`);
    assert.ok(!env.includes('DB_ENV_SHARED=theirs'), 'the container\'s own variable wins');
    assert.ok(!env.some((v) => v.startsWith('DB_ENV_PATH=')), 'PATH is not passed on');
    const hosts = ok(['run', '--rm', '--link', 'linksrv:db', 'bbox:1', 'cat', '/etc/hosts']);
    assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\tdb srvhost linksrv$`, 'm'));
    ok(['run', '--rm', '--link', 'linksrv:db', 'bbox:1', 'busybox', 'ping', '-c', '1', '-W', '5', 'db']);
    // Without an alias the name is the alias (and is listed once).
    assert.match(ok(['run', '--rm', '--link', 'linksrv', 'bbox:1', 'cat', '/etc/hosts']), new RegExp(`^${ip.replace(/\./g, '\\.')}\tlinksrv srvhost$`, 'm'));
    ok(['stop', '-t', '1', 'linksrv']);
    const r = docker(['run', '--name', 'linkcli2', '--link', 'linksrv:db', 'bbox:1', 'true']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Cannot link to a non running container: \/linksrv AS \/linkcli2\/db/);
    const missing = docker(['run', '--name', 'linkcli3', '--link', 'nosuchctr:db', 'bbox:1', 'true']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /nosuchctr/);
    ok(['rm', '-f', 'linksrv', 'linkcli2']);
    docker(['rm', '-f', 'linkcli3']);
  });

  it('an SCTP published port fails the start with the proxy\'s error, leaving no rule', () => {
    const r = docker(['run', '-d', '--name', 'sctppub', '-p', '127.0.0.1::80/sctp', 'bbox:1', 'sleep', '300']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /driver failed programming external connectivity.*Error starting userland proxy: listen sctp 127\.0\.0\.1:\d+: /);
    assert.equal(ok(['inspect', '-f', '{{.State.Running}}', 'sctppub']), 'false');
    assert.doesNotMatch(iptables('nat'), /sctp/);
    ok(['rm', '-f', 'sctppub']);
  });

  it('--link on a user network: the alias resolves for the linking container', () => {
    ok(['network', 'create', 'linknet']);
    ok(['run', '-d', '--name', 'lsrv', '--network', 'linknet', 'bbox:1', 'sleep', '300']);
    const ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.linknet.IPAddress}}', 'lsrv']);
    const out = ok(['run', '--rm', '--network', 'linknet', '--link', 'lsrv:dbalias', 'bbox:1', 'busybox', 'ping', '-c', '1', '-W', '5', 'dbalias']);
    assert.match(out, new RegExp(ip.replace(/\./g, '\\.')));
    // Not a name for anyone else.
    assert.notEqual(docker(['run', '--rm', '--network', 'linknet', 'bbox:1', 'busybox', 'ping', '-c', '1', '-W', '2', 'dbalias']).status, 0);
    ok(['rm', '-f', 'lsrv']);
    ok(['network', 'rm', 'linknet']);
  });

  it('user networks: create with options, inspect, duplicate and predefined errors', () => {
    const id = ok(['network', 'create', '--subnet', '10.250.7.0/24', '--gateway', '10.250.7.254', '--ip-range', '10.250.7.128/25', '--label', 'team=net', '-o', 'com.docker.network.driver.mtu=1400', 'usernet']);
    assert.match(id, /^[0-9a-f]{64}$/);
    const n = JSON.parse(ok(['network', 'inspect', 'usernet']))[0];
    assert.deepEqual(n.IPAM.Config, [{ Subnet: '10.250.7.0/24', IPRange: '10.250.7.128/25', Gateway: '10.250.7.254' }]);
    assert.deepEqual(n.Labels, { team: 'net' });
    assert.equal(n.Options['com.docker.network.driver.mtu'], '1400');
    const dup = docker(['network', 'create', 'usernet']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /network with name usernet already exists/);
    const pre = docker(['network', 'rm', 'bridge']);
    assert.match(pre.stderr, /bridge is a pre-defined network and cannot be removed/);
    const missing = docker(['network', 'inspect', 'nosuchnet']);
    assert.match(missing.stderr, /network nosuchnet not found/);
    // As dockerd: the container is created, its start fails with a 404 (a 404 at create would make the CLI pull).
    const runMissing = docker(['run', '--name', 'nonet', '--network', 'nosuchnet', 'bbox:1', 'true']);
    assert.match(runMissing.stderr, /network nosuchnet not found/);
    ok(['rm', 'nonet']);
    const r = ok(['run', '--rm', '--network', 'usernet', 'bbox:1', 'sh', '-c', 'busybox ip -4 addr show eth0; busybox ip link show eth0']);
    assert.match(r, /inet 10\.250\.7\.(12[89]|1[3-9][0-9]|2[0-4][0-9]|25[0-3])\/24/, 'address from the ip-range');
    assert.match(r, /mtu 1400/);
    ok(['network', 'rm', 'usernet']);
  });

  it('two containers on a user network reach each other by name, alias and name.network', () => {
    ok(['network', 'create', 'appnet']);
    ok(['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'www', '--hostname', 'webhost', 'bbox:1', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const r = ok(['run', '--rm', '--network', 'appnet', 'bbox:1', 'sh', '-c',
      'cat /etc/resolv.conf; for n in web www web.appnet webhost; do busybox wget -q -O - http://$n/hostname || exit 1; done; busybox ping -c 1 -W 5 web >/dev/null && echo pinged']);
    assert.match(r, /nameserver 127\.0\.0\.11/);
    assert.match(r, /options ndots:0/);
    assert.equal(r.split('\n').filter((l) => l === 'webhost').length, 4);
    assert.match(r, /pinged/);
    const web = JSON.parse(ok(['inspect', 'web']))[0];
    assert.deepEqual(web.NetworkSettings.Networks.appnet.DNSNames, ['web', 'www', web.Id.slice(0, 12), 'webhost']);
    assert.equal(web.NetworkSettings.IPAddress, '', 'legacy fields only for the default bridge');
    const members = JSON.parse(ok(['network', 'inspect', 'appnet']))[0].Containers;
    assert.equal(members[web.Id].Name, 'web');
    // Names of other networks are not resolved; the resolver is not on the host.
    const other = docker(['run', '--rm', 'bbox:1', 'busybox', 'nslookup', 'web', '127.0.0.11']);
    assert.notEqual(other.status, 0);
    const rm = docker(['network', 'rm', 'appnet']);
    assert.match(rm.stderr, /has active endpoints/);
    ok(['rm', '-f', 'web']);
    ok(['network', 'rm', 'appnet']);
  });

  it('publishes ports: -p answers on 127.0.0.1, -P picks ports docker port reports, freed at stop', async () => {
    ok(['run', '-d', '--name', 'pub', '-p', '127.0.0.1::80', '--expose', '81', '-P', 'bbox:1', 'sh', '-c', 'busybox httpd -p 81 -h /etc; exec busybox httpd -f -p 80 -h /etc']);
    const ports = ok(['port', 'pub']).split('\n').sort();
    const p80 = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/.exec(ports.find((l) => l.startsWith('80/tcp'))!);
    const p81 = /^81\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(ports.find((l) => l.startsWith('81/tcp -> 0.0.0.0'))!);
    assert.ok(p80 && p81, ports.join('\n'));
    const id = ok(['inspect', '-f', '{{.Id}}', 'pub']);
    await waitFor(() => docker(['exec', 'pub', 'busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1/hostname']).status === 0, 20_000, 'httpd');
    const a = await httpGet(Number(p80[1]), '/hostname');
    assert.equal(a.body.trim(), id.slice(0, 12));
    const b = await httpGet(Number(p81[1]), '/hostname');
    assert.equal(b.status, 200);
    const nat = iptables('nat');
    assert.match(nat, new RegExp(`-A ${prefix} ! -i ${bridge} -p tcp -m tcp --dport ${p81[1]} -j DNAT`));
    // Another container reaches the published port through the gateway.
    const gw = JSON.parse(ok(['inspect', 'pub']))[0].NetworkSettings.Gateway;
    assert.equal(ok(['run', '--rm', 'bbox:1', 'busybox', 'wget', '-q', '-O', '-', `http://${gw}:${p81[1]}/hostname`]), id.slice(0, 12));
    const ps = ok(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']);
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${p80[1]}->80/tcp`));
    ok(['stop', '-t', '1', 'pub']);
    await assert.rejects(httpGet(Number(p80[1]), '/'), 'the port is closed once the container stopped');
    assert.doesNotMatch(iptables('nat'), new RegExp(`--dport ${p81[1]} `));
    assert.deepEqual(JSON.parse(ok(['inspect', 'pub']))[0].NetworkSettings.Ports, {});
    ok(['rm', 'pub']);
  });

  it('connect and disconnect a running container, with --ip and --alias', () => {
    ok(['network', 'create', '--subnet', '10.250.9.0/24', 'livenet']);
    ok(['run', '-d', '--name', 'mover', 'bbox:1', 'sleep', '300']);
    ok(['network', 'connect', '--ip', '10.250.9.50', '--alias', 'moved', 'livenet', 'mover']);
    assert.match(ok(['exec', 'mover', 'busybox', 'ip', '-4', 'addr', 'show', 'eth1']), /inet 10\.250\.9\.50\/24/);
    assert.match(ok(['exec', 'mover', 'cat', '/etc/hosts']), /10\.250\.9\.50\t/);
    const nets = JSON.parse(ok(['inspect', 'mover']))[0].NetworkSettings.Networks;
    assert.deepEqual(Object.keys(nets).sort(), ['bridge', 'livenet']);
    assert.equal(nets.livenet.IPAddress, '10.250.9.50');
    assert.deepEqual(nets.livenet.IPAMConfig, { IPv4Address: '10.250.9.50' });
    assert.equal(ok(['run', '--rm', '--network', 'livenet', 'bbox:1', 'sh', '-c', 'busybox nslookup moved 127.0.0.11 | grep "^Address: 10"']), 'Address: 10.250.9.50');
    const taken = docker(['run', '--rm', '--network', 'livenet', '--ip', '10.250.9.50', 'bbox:1', 'true']);
    assert.notEqual(taken.status, 0, 'an address is never handed out twice');
    assert.match(taken.stderr, /Address already in use/);
    ok(['network', 'disconnect', 'livenet', 'mover']);
    assert.notEqual(docker(['exec', 'mover', 'busybox', 'ip', 'link', 'show', 'eth1']).status, 0);
    assert.doesNotMatch(ok(['exec', 'mover', 'cat', '/etc/hosts']), /10\.250\.9\.50/);
    ok(['run', '--rm', '--network', 'livenet', '--ip', '10.250.9.50', 'bbox:1', 'true']);
    ok(['rm', '-f', 'mover']);
    ok(['network', 'rm', 'livenet']);
  });

  it('--network container:, --add-host, --dns, --mac-address and events', () => {
    ok(['network', 'create', 'evnet']);
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(['run', '-d', '--name', 'host1', '--network', 'evnet', '--mac-address', '02:42:aa:bb:cc:dd', '--add-host', 'extra.test:10.1.2.3', 'bbox:1', 'sleep', '300']);
    assert.match(ok(['exec', 'host1', 'busybox', 'ip', 'link', 'show', 'eth0']), /02:42:aa:bb:cc:dd/);
    assert.match(ok(['exec', 'host1', 'cat', '/etc/hosts']), /10\.1\.2\.3\textra\.test/);
    const ip = JSON.parse(ok(['inspect', 'host1']))[0].NetworkSettings.Networks.evnet.IPAddress;
    assert.match(ok(['run', '--rm', '--network', 'container:host1', 'bbox:1', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${ip}/`));
    assert.match(ok(['run', '--rm', '--dns', '10.9.9.9', 'bbox:1', 'cat', '/etc/resolv.conf']), /nameserver 10\.9\.9\.9/);
    ok(['rm', '-f', 'host1']);
    ok(['network', 'rm', 'evnet']);
    const ev = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    for (const want of ['connect evnet', 'disconnect evnet', 'destroy evnet']) assert.ok(ev.split('\n').includes(want), `${want} in ${ev}`);
  });

  it('networks, addresses and rules survive a restart, and a kill -9 is cleaned up', async () => {
    ok(['network', 'create', '--subnet', '10.250.11.0/24', 'keepnet']);
    const before = JSON.parse(ok(['network', 'inspect', 'keepnet']))[0];
    ok(['run', '-d', '--name', 'keeper', '--restart', 'always', '--stop-timeout', '1', '--network', 'keepnet', '--ip', '10.250.11.10', 'bbox:1', 'sleep', '300']);
    await c.d.restart({ kill: true });
    const after = JSON.parse(ok(['network', 'inspect', 'keepnet']))[0];
    assert.equal(after.Id, before.Id);
    assert.deepEqual(after.IPAM, before.IPAM);
    await waitFor(() => docker(['inspect', '-f', '{{.State.Running}}', 'keeper']).stdout.trim() === 'true', 30_000, 'keeper restarted');
    assert.equal(ok(['inspect', '-f', '{{.NetworkSettings.Networks.keepnet.IPAddress}}', 'keeper']), '10.250.11.10');
    const other = ok(['run', '--rm', '--network', 'keepnet', 'bbox:1', 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.doesNotMatch(other, /10\.250\.11\.10\//, 'the kept address is not handed out again');
    // One sandbox namespace mounted (keeper's), jumps not duplicated by the restart.
    // A removed sandbox's mount goes behind the stop (as dockerd's namespace GC): wait for it.
    const netnsMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`${c.d.dir}/exec/netns/`));
    await waitFor(() => netnsMounts().length <= 1, 30_000, 'the --rm container\'s namespace unmounted');
    assert.equal(netnsMounts().length, 1, netnsMounts().join('\n'));
    assert.equal(iptables('filter').split('\n').filter((l) => l === `-A FORWARD -j ${prefix}-FORWARD`).length, 1);
    await c.d.restart();
    assert.equal(JSON.parse(ok(['network', 'inspect', 'keepnet']))[0].Id, before.Id);
    ok(['rm', '-f', 'keeper']);
    ok(['network', 'rm', 'keepnet']);
    assert.equal(ok(['network', 'ls', '-q', '--filter', 'type=custom']), '');
    await waitFor(() => netnsMounts().length === 0, 30_000, 'keeper\'s namespace unmounted');
    assert.deepEqual(netnsMounts(), []);
  });

  it('network prune removes unused user networks only', () => {
    ok(['network', 'create', 'p1']);
    ok(['network', 'create', 'p2']);
    ok(['run', '-d', '--name', 'user2', '--network', 'p2', 'bbox:1', 'sleep', '300']);
    const out = ok(['network', 'prune', '-f']);
    assert.match(out, /p1/);
    assert.doesNotMatch(out, /p2/);
    ok(['rm', '-f', 'user2']);
    ok(['network', 'rm', 'p2']);
  });

  it('docker-compose: one service calls the other by service name; down leaves no network or rule', { skip: composeAvailable ? false : 'docker-compose is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
    try {
      writeFileSync(join(dir, 'docker-compose.yml'), [
        'version: "3"',
        'services:',
        '  web:',
        '    image: bbox:1',
        '    command: ["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]',
        '  client:',
        '    image: bbox:1',
        '    depends_on: [web]',
        '    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do busybox wget -q -O - http://web/hostname && echo CALLED-WEB && exit 0; sleep 1; done; exit 1"]',
        '',
      ].join('\n'));
      const compose = (args: string[]) => spawnSync('docker-compose', ['-p', 'berthcmp', ...args], {
        cwd: dir, encoding: 'utf8', timeout: 180_000,
        env: { ...process.env, DOCKER_HOST: `unix://${c.d.socket}`, DOCKER_CONFIG: join(c.d.dir, 'docker-config'), COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
      const up = compose(['up', '--exit-code-from', 'client']);
      assert.equal(up.status, 0, up.stdout + up.stderr);
      assert.match(up.stdout, /CALLED-WEB/);
      const net = JSON.parse(ok(['network', 'inspect', 'berthcmp_default']))[0];
      const bridgeName = `br-${net.Id.slice(0, 12)}`;
      assert.match(iptables('filter'), new RegExp(bridgeName));
      const down = compose(['down']);
      assert.equal(down.status, 0, down.stdout + down.stderr);
      assert.equal(ok(['ps', '-aq', '--filter', 'label=com.docker.compose.project=berthcmp']), '');
      assert.notEqual(docker(['network', 'inspect', 'berthcmp_default']).status, 0);
      assert.doesNotMatch(iptables('filter') + iptables('nat'), new RegExp(bridgeName));
      assert.doesNotMatch(links(), new RegExp(bridgeName));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('userland-proxy: false (dockerd\'s hairpin mode) with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  let prefix: string;
  let bridge: string;
  const { docker, ok } = cli(() => c);

  // Hairpin traffic (a container to its own published port through the
  // gateway) is routed back out of the bridge by the host, so this mode needs
  // IP forwarding, which dockerd's default `ip-forward: true` turns on. The
  // host's own setting is put back afterwards.
  const forwardFile = '/proc/sys/net/ipv4/ip_forward';
  let forwardBefore: string | undefined;

  before(async () => {
    forwardBefore = readFileSync(forwardFile, 'utf8').trim();
    const cfg = networkTestConfig({ 'userland-proxy': false, 'ip-forward': true });
    const plugins = (cfg.berth as { plugins: Record<string, Record<string, string>> }).plugins;
    prefix = plugins['net-bridge']!.chainPrefix!;
    bridge = plugins['network-service']!.defaultBridge!;
    c = await startContainerDaemon(cfg);
  });
  after(async () => {
    if (forwardBefore !== undefined) writeFileSync(forwardFile, `${forwardBefore}\n`);
    if (!c) return;
    await c.stop();
    assert.doesNotMatch(iptables('nat') + iptables('filter'), new RegExp(prefix), 'iptables chains removed');
    assert.doesNotMatch(links(), new RegExp(`${bridge}:`), 'default bridge removed');
  });

  it('DNAT carries loopback traffic (route_localnet on the bridge only), the port stays held, hairpin through the gateway', async () => {
    const nat = iptables('nat');
    assert.match(nat, new RegExp(`-A OUTPUT -m addrtype --dst-type LOCAL -j ${prefix}\\n`), 'OUTPUT jumps for 127.0.0.0/8 too');
    assert.match(nat, new RegExp(`-A ${prefix}-POSTROUTING -o ${bridge} -m addrtype --src-type LOCAL -j MASQUERADE`));
    assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8').trim(), '1');
    ok(['run', '-d', '--name', 'hp', '-p', '127.0.0.1::80', '-p', '81', 'bbox:1', 'sh', '-c', 'busybox httpd -p 81 -h /etc; exec busybox httpd -f -p 80 -h /etc']);
    const id = ok(['inspect', '-f', '{{.Id}}', 'hp']);
    const p80 = Number(/127\.0\.0\.1:(\d+)/.exec(ok(['port', 'hp', '80/tcp']))![1]);
    const p81 = Number(/0\.0\.0\.0:(\d+)/.exec(ok(['port', 'hp', '81/tcp']))![1]);
    assert.match(iptables('nat'), new RegExp(`-A ${prefix} -d 127\\.0\\.0\\.1/32 -p tcp -m tcp --dport ${p80} -j DNAT`), 'no "! -i bridge" in hairpin mode');
    await waitFor(() => docker(['exec', 'hp', 'busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1/hostname']).status === 0, 20_000, 'httpd');
    assert.equal((await httpGet(p80, '/hostname')).body.trim(), id.slice(0, 12));
    assert.equal((await httpGet(p81, '/hostname')).body.trim(), id.slice(0, 12));
    // The container reaches its own published port through the gateway (DNAT back into the bridge, hairpin masquerade).
    const gw = JSON.parse(ok(['inspect', 'hp']))[0].NetworkSettings.Gateway;
    assert.equal(ok(['exec', 'hp', 'busybox', 'wget', '-q', '-O', '-', `http://${gw}:${p81}/hostname`]), id.slice(0, 12));
    // Still allocated: no second container gets the port.
    const clash = docker(['run', '-d', '--name', 'hp2', '-p', `127.0.0.1:${p80}:80`, 'bbox:1', 'sleep', '30']);
    assert.notEqual(clash.status, 0);
    assert.match(clash.stderr, /port is already allocated/);
    ok(['rm', '-f', 'hp', 'hp2']);
    assert.doesNotMatch(iptables('nat'), new RegExp(`--dport (${p80}|${p81}) `));
    await assert.rejects(httpGet(p80, '/'), 'the port is closed once the container is gone');
  });
});
