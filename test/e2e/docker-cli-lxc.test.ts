import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dockerCliAvailable, networkTestConfig, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { findBinary } from '../../plugins/exec-libcontainer/find-binary.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';
import { containerScenarios } from './containers/scenarios.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !busyboxAvailable ? 'busybox-static is not installed'
  : process.getuid?.() !== 0 ? 'needs root'
  : !findBinary('lxc-start') ? 'lxc is not installed (scripts/os-packages.txt)'
  : false;

function ok(r: { status: number | null; stdout: string; stderr: string }, what = ''): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

describe('docker run --runtime lxc (the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  it('docker info lists lxc beside runc; the default stays runc', () => {
    const info = JSON.parse(ok(c.d.docker(['info', '--format', '{{json .Runtimes}}']))) as Record<string, { path: string }>;
    assert.ok(info.lxc && info.lxc.path.endsWith('lxc-start'), JSON.stringify(info));
    assert.ok(info.runc);
    assert.equal(ok(c.d.docker(['info', '--format', '{{.DefaultRuntime}}'])).trim(), 'runc');
  });

  containerScenarios(() => c, { runtimeArgs: ['--runtime', 'lxc'], runtime: 'lxc' });

  it('a TTY container: one stream, CRLF, /dev/pts', () => {
    const r = c.d.docker(['run', '--rm', '-t', '--runtime', 'lxc', 'bbox:1', 'sh', '-c', 'tty; echo to-stderr >&2']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r\nto-stderr\r\n$/);
  });

  it('docker exec -t and -i: CRLF once, the exit code, stdin', () => {
    ok(c.d.docker(['run', '-d', '--name', 'ttyexec', '--runtime', 'lxc', 'bbox:1', 'sleep', '300']));
    const t = c.d.docker(['exec', '-t', 'ttyexec', 'sh', '-c', 'echo a; tty; exit 4']);
    assert.equal(t.status, 4, t.stderr);
    assert.match(t.stdout, /^a\r\n\/dev\/pts\/\d+\r\n$/);
    const i = c.d.docker(['exec', '-i', 'ttyexec', 'sh', '-c', 'cat; exit 2'], { input: 'in\n' });
    assert.equal(i.status, 2, i.stderr);
    assert.equal(i.stdout, 'in\n');
    ok(c.d.docker(['rm', '-f', 'ttyexec']));
  });

  it('--network container: joins another container\'s namespace across runtimes (runc ↔ lxc)', async () => {
    ok(c.d.docker(['run', '-d', '--name', 'netpeer', 'bbox:1', 'sleep', '300']));
    const inode = (out: string) => /net:\[\d+\]/.exec(out)?.[0] ?? `no namespace in ${JSON.stringify(out)}`;
    const ns = (args: string[]) => inode(ok(c.d.docker(['run', '--rm', ...args, 'bbox:1', 'ls', '-l', '/proc/self/ns/net'])));
    const peerNs = inode(ok(c.d.docker(['exec', 'netpeer', 'ls', '-l', '/proc/self/ns/net'])));
    assert.equal(ns(['--runtime', 'lxc', '--network', 'container:netpeer']), peerNs);
    assert.notEqual(ns(['--runtime', 'lxc']), peerNs);
    ok(c.d.docker(['run', '-d', '--name', 'lxcpeer', '--runtime', 'lxc', 'bbox:1', 'sleep', '300']));
    const lxcNs = inode(ok(c.d.docker(['exec', 'lxcpeer', 'ls', '-l', '/proc/self/ns/net'])));
    assert.equal(ns(['--network', 'container:lxcpeer']), lxcNs);
    ok(c.d.docker(['rm', '-f', 'netpeer', 'lxcpeer']));
  });

  it('stdin: docker run -i feeds the process and closes its stdin at the end', () => {
    const r = c.d.docker(['run', '--rm', '-i', '--runtime', 'lxc', 'bbox:1', 'sh', '-c', 'cat; echo done'], { input: 'a\nb\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'a\nb\ndone\n');
  });

  it('refuses what LXC cannot do with a clear error', () => {
    const r = c.d.docker(['run', '--rm', '--runtime', 'lxc', '--domainname', 'example.org', 'bbox:1', 'true']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /domainname is not supported by LXC/);
  });
});

describe('"default-runtime": "lxc" (the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon({ 'default-runtime': 'lxc' }); });
  after(async () => { await c?.stop(); });

  it('docker info says lxc is the default', () => {
    assert.equal(ok(c.d.docker(['info', '--format', '{{.DefaultRuntime}}'])).trim(), 'lxc');
  });

  containerScenarios(() => c, { runtime: 'lxc' });
});

describe('live-restore with an lxc container (the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon({ 'live-restore': true }); });
  after(async () => { await c?.stop(); });

  it('keeps running through a berthd kill -9; output made meanwhile reaches docker logs; exec and stop work after', async () => {
    const d = c.d;
    ok(d.docker(['run', '-d', '--name', 'lr', '--runtime', 'lxc', 'bbox:1', 'sh', '-c', 'echo before; sleep 2; echo during; trap "exit 5" TERM; while true; do sleep 0.1; done']));
    await waitFor(() => d.docker(['logs', 'lr']).stdout === 'before\n');
    const pid = ok(d.docker(['inspect', '-f', '{{.State.Pid}}', 'lr'])).trim();
    await d.restart({ kill: true });
    assert.equal(ok(d.docker(['inspect', '-f', '{{.State.Running}} {{.State.Pid}}', 'lr'])).trim(), `true ${pid}`);
    await waitFor(() => d.docker(['logs', 'lr']).stdout === 'before\nduring\n', 15_000, 'output made while berthd was down');
    assert.equal(ok(d.docker(['exec', 'lr', 'echo', 'still here'])), 'still here\n');
    ok(d.docker(['stop', 'lr']));
    assert.equal(ok(d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'lr'])).trim(), '5');
  });
});

describe('lxc containers on bridge networks (the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(networkTestConfig()); });
  after(async () => {
    c?.removeAll();
    c?.d.docker(['network', 'rm', 'lxcnet']);
    await c?.stop();
  });

  it('joins the sandbox net-bridge made, as runc does: an address on the default bridge, a runc peer by name on a user network', () => {
    const addr = ok(c.d.docker(['run', '--rm', '--runtime', 'lxc', 'bbox:1', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0']));
    assert.match(addr, /inet \d+\.\d+\.\d+\.\d+\//);
    ok(c.d.docker(['network', 'create', 'lxcnet']));
    ok(c.d.docker(['run', '-d', '--name', 'peer', '--network', 'lxcnet', 'bbox:1', 'sleep', '300']));
    const ping = c.d.docker(['run', '--rm', '--runtime', 'lxc', '--network', 'lxcnet', 'bbox:1', 'busybox', 'ping', '-c', '1', '-W', '5', 'peer']);
    assert.equal(ping.status, 0, ping.stdout + ping.stderr);
    assert.match(ping.stdout, /1 packets received/);
  });
});

/** Rewrites daemon.json (keeping the harness's keys) and sends SIGHUP; resolves when docker info shows `expect`. */
async function reload(d: BerthdProcess, change: Record<string, unknown>, expect?: string): Promise<void> {
  const cfg = JSON.parse(await readFile(d.configFile, 'utf8')) as Record<string, unknown>;
  for (const [k, v] of Object.entries(change)) {
    if (v === undefined) delete cfg[k];
    else cfg[k] = v;
  }
  await writeFile(d.configFile, JSON.stringify(cfg));
  d.child.kill('SIGHUP');
  if (expect) await waitFor(() => d.docker(['info', '--format', '{{.DefaultRuntime}}']).stdout.trim() === expect, 20_000, `DefaultRuntime ${expect}`);
}

describe('runtime hot swap through daemon.json + SIGHUP (the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  it('runc → lxc → runc: new containers take the new default, running ones keep theirs and stay controllable', async () => {
    const d = c.d;
    const since = Math.floor(Date.now() / 1000) - 1;
    const loop = (name: string) => ['run', '-d', '--name', name, 'bbox:1', 'sh', '-c', `echo ${name} up; trap "exit 0" TERM; while true; do sleep 0.1; done`];
    ok(d.docker(loop('first')), 'first');
    await reload(d, { 'default-runtime': 'lxc' }, 'lxc');
    ok(d.docker(loop('second')), 'second');
    await reload(d, { 'default-runtime': 'runc' }, 'runc');
    ok(d.docker(loop('third')), 'third');

    const runtimes = ['first', 'second', 'third'].map((n) => ok(d.docker(['inspect', '-f', '{{.HostConfig.Runtime}} {{.State.Running}}', n])).trim());
    assert.deepEqual(runtimes, ['runc true', 'lxc true', 'runc true']);
    for (const n of ['first', 'second', 'third']) {
      await waitFor(() => d.docker(['logs', n]).stdout === `${n} up\n`, 10_000, `logs of ${n}`);
      assert.equal(ok(d.docker(['exec', n, 'sh', '-c', 'echo alive $((6*7))'])), 'alive 42\n', n);
    }
    // Each swap is a daemon reload event, and docker info showed the new default (reload() waited for it).
    const events = ok(d.docker(['events', '--filter', 'type=daemon', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1)]));
    assert.equal(events.split('\n').filter((l) => / daemon reload /.test(l)).length, 2, events);
    for (const n of ['first', 'second', 'third']) {
      ok(d.docker(['stop', n]), `stop ${n}`);
      assert.equal(ok(d.docker(['inspect', '-f', '{{.State.ExitCode}}', n])).trim(), '0');
    }
  });

  it('a failed swap (unknown runtime, runtime whose binary is missing) keeps the old default and says why', async () => {
    const d = c.d;
    await reload(d, { 'default-runtime': 'nosuch' });
    await waitFor(() => d.stderr().includes("specified default runtime 'nosuch' does not exist"), 20_000, 'the validation error in the log');
    assert.equal(ok(d.docker(['info', '--format', '{{.DefaultRuntime}}'])).trim(), 'runc');
    await reload(d, { runtimes: { ghost: { path: '/nonexistent/ghost-runtime' } }, 'default-runtime': 'ghost' });
    await waitFor(() => d.stderr().includes('default runtime ghost cannot be used'), 20_000, 'the failed swap in the log');
    assert.equal(ok(d.docker(['info', '--format', '{{.DefaultRuntime}}'])).trim(), 'runc');
    ok(d.docker(['run', '--rm', 'bbox:1', 'true']), 'runc still serves');
    await reload(d, { runtimes: undefined, 'default-runtime': undefined });
  });
});
