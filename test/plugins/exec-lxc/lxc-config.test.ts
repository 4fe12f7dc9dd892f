import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, type ContainerRunConfig } from '../../../kernel/index.js';
import { buildOciSpec } from '../../../plugins/exec-libcontainer/oci-spec.js';
import { renderLxcConfig } from '../../../plugins/exec-lxc/lxc-config.js';
import { lxcSeccompPolicy } from '../../../plugins/exec-lxc/lxc-seccomp.js';
import { parseLxcLog } from '../../../plugins/exec-lxc/lxc-log.js';
import { shellQuote, startScript } from '../../../plugins/exec-lxc/launch-scripts.js';
import { SHIM_SCRIPT } from '../../../plugins/exec-lxc/shim-script.js';

const rootfs = mkdtempSync(join(tmpdir(), 'berth-lxc-config-'));
process.on('exit', () => rmSync(rootfs, { recursive: true, force: true }));

async function render(over: Partial<ContainerRunConfig['HostConfig']> = {}, cfg: ContainerRunConfig['Config'] = {}, version: '1' | '2' = '1') {
  const run: ContainerRunConfig = { Path: 'sh', Args: ['-c', 'true'], Config: { Env: ['A=b'], Hostname: 'h1', ...cfg }, HostConfig: { NetworkMode: 'none', ...over } };
  const spec = await buildOciSpec(run, { id: 'c1', rootfs, cgroupVersion: version, kernelRelease: '6.1.0' });
  const out = renderLxcConfig(spec, run, { cgroupVersion: version, shimPath: '/x/shim', seccompPath: '/x/seccomp', sysctlPath: '/x/sysctl', oomPath: '/x/oom-lxc', swapAccounting: true });
  return { ...out, lines: out.config.trim().split('\n') };
}

describe('exec-lxc: ContainerRunConfig → LXC configuration', () => {
  it('renders dockerd defaults: rootfs, namespaces, caps, env, user, cgroup, loopback hook, seccomp', async () => {
    const r = await render();
    assert.ok(r.lines.includes(`lxc.rootfs.path = dir:${rootfs}`));
    assert.ok(r.lines.includes('lxc.namespace.clone = mnt net uts pid ipc cgroup'));
    assert.ok(r.lines.includes('lxc.net.0.type = empty'));
    assert.ok(r.lines.includes('lxc.uts.name = h1'));
    assert.ok(r.lines.includes('lxc.environment = A=b'));
    assert.ok(r.lines.includes('lxc.console.path = none'));
    assert.ok(r.lines.some((l) => l.startsWith('lxc.hook.start-host = /x/shim hook lo sysctl:/x/sysctl')));
    const keep = r.lines.find((l) => l.startsWith('lxc.cap.keep = '))!.slice('lxc.cap.keep = '.length).split(' ');
    assert.deepEqual(keep.sort(), ['audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod', 'net_bind_service', 'net_raw', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot']);
    assert.ok(r.lines.includes('lxc.cgroup.dir.container = berth/c1'));
    assert.ok(r.lines.includes('lxc.cgroup.devices.deny = a'));
    assert.ok(r.lines.some((l) => /^lxc\.mount\.entry = shm dev\/shm tmpfs .*size=67108864/.test(l)));
    assert.ok(r.lines.includes('lxc.seccomp.profile = /x/seccomp'));
    assert.match(r.seccomp!, /^2\nallowlist errno 1\n/);
    assert.match(r.sysctl!, /^net\/ipv4\/ping_group_range 0 2147483647$/m);
  });

  it('OOM detection: a stop hook names the container\'s v1 memory.oom_control or v2 memory.events; the shim marks only a counted kill', async () => {
    assert.ok((await render()).lines.includes('lxc.hook.stop = /x/shim oom /x/oom-lxc /sys/fs/cgroup/memory/berth/c1/memory.oom_control'));
    assert.ok((await render({}, {}, '2')).lines.includes('lxc.hook.stop = /x/shim oom /x/oom-lxc /sys/fs/cgroup/berth/c1/memory.events'));
    const dir = mkdtempSync(join(tmpdir(), 'berth-lxc-oom-'));
    try {
      writeFileSync(join(dir, 'shim'), SHIM_SCRIPT);
      const cases: Array<[string, string, boolean]> = [
        ['v1 killed', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n', true],
        ['v1 under OOM (killer disabled)', 'oom_kill_disable 1\nunder_oom 1\noom_kill 0\n', true],
        ['v1 none', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', false],
        ['v2 killed', 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n', true],
        ['v2 limit hit, nothing killed', 'low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\n', false],
        ['cgroup already gone', '', false],
      ];
      for (const [what, events, killed] of cases) {
        const file = join(dir, 'events');
        const marker = join(dir, 'oom-lxc');
        rmSync(marker, { force: true });
        rmSync(file, { force: true });
        if (events) writeFileSync(file, events);
        // LXC appends the container name, section, hook type and namespace fds after the configured words.
        execFileSync('sh', [join(dir, 'shim'), 'oom', marker, file, 'c1', 'lxc', 'stop', 'NET:/proc/1/fd/3']);
        assert.equal(existsSync(marker), killed, what);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps resources for cgroup v1 and v2, privileged, cap-drop ALL, host and shared network', async () => {
    const v1 = await render({ Memory: 64 << 20, PidsLimit: 17, NanoCpus: 5e8, CpuShares: 512 });
    for (const l of ['lxc.cgroup.memory.limit_in_bytes = 67108864', 'lxc.cgroup.pids.max = 17', 'lxc.cgroup.cpu.cfs_quota_us = 50000', 'lxc.cgroup.cpu.cfs_period_us = 100000', 'lxc.cgroup.cpu.shares = 512']) assert.ok(v1.lines.includes(l), l);
    const v2 = await render({ Memory: 64 << 20, PidsLimit: 17, NanoCpus: 5e8 }, {}, '2');
    for (const l of ['lxc.cgroup2.memory.max = 67108864', 'lxc.cgroup2.pids.max = 17', 'lxc.cgroup2.cpu.max = 50000 100000']) assert.ok(v2.lines.includes(l), l);
    const priv = await render({ Privileged: true });
    assert.ok(!priv.lines.some((l) => l.startsWith('lxc.cap.keep')));
    assert.ok(priv.lines.includes('lxc.cgroup.devices.allow = a'));
    assert.equal(priv.seccomp, undefined);
    const none = await render({ CapDrop: ['ALL'] });
    assert.ok(none.lines.includes('lxc.cap.keep = none'));
    const host = await render({ NetworkMode: 'host' });
    assert.ok(host.lines.includes('lxc.net.0.type = none'));
    assert.ok(!host.lines.find((l) => l.startsWith('lxc.namespace.clone'))!.includes('net'));
    const shared = await render({ NetworkMode: 'bridge', NetworkNamespacePath: '/run/netns/x' });
    assert.ok(shared.lines.includes('lxc.namespace.share.net = /run/netns/x'));
    assert.ok(!shared.lines.some((l) => l.startsWith('lxc.net.0')));
  });

  it('refuses what LXC cannot do, with a clear error', async () => {
    await assert.rejects(render({}, { Domainname: 'example.org' }), (e: Error) => e instanceof InvalidParameterError && /domainname is not supported/.test(e.message));
    assert.throws(() => lxcSeccompPolicy({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG' }] }), /SCMP_ACT_LOG is not supported by LXC/);
    assert.throws(() => lxcSeccompPolicy({ defaultAction: 'SCMP_ACT_ERRNO', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [] }), /flags/);
  });

  it('writes seccomp arguments in LXC order (masked compare: datum, then mask)', () => {
    const p = lxcSeccompPolicy({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['clone'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
    ] });
    assert.equal(p, '2\ndenylist allow\npersonality allow [0,8,SCMP_CMP_EQ]\nclone errno 38 [0,0,SCMP_CMP_MASKED_EQ,2114060288]\n');
  });

  it('reads the init pid and exit status from lxc-start\'s log', () => {
    const log = [
      'lxc-start c 2026 NOTICE   start - ../src/lxc/start.c:post_start:2205 - Started "/bin/sh" with pid "24374"',
      'lxc-start c 2026 INFO     error - ../src/lxc/error.c:lxc_error_set_and_log:34 - Child <24374> ended on signal Killed(9)',
    ].join('\n');
    assert.deepEqual(parseLxcLog(log), { initPid: 24374, exitCode: 137, errors: [] });
    assert.equal(parseLxcLog('x INFO error - e.c:f:31 - Child <5> ended on error (3)').exitCode, 3);
    assert.equal(parseLxcLog('').exitCode, undefined);
  });

  it('quotes every argument of the launch scripts', () => {
    assert.equal(shellQuote(`it's $HOME`), `'it'\\''s $HOME'`);
    const s = startScript({ fifo: '/g', lxcStart: ['lxc-start', '--', 'echo', 'a b', '$(x)'], terminal: false, stdin: false, ttyFile: '/t', holdFifo: '/h' });
    assert.equal(s.main, `read _ < '/g' || exit 1\nexec 'lxc-start' '--' 'echo' 'a b' '$(x)'\n`);
    assert.equal(s.tty, undefined);
  });
});
