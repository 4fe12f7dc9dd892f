import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, type ContainerRunConfig } from '../../../kernel/index.js';
import { buildExecProcess, buildOciSpec, replaceOrAppendEnv, type SpecContext } from '../../../plugins/exec-libcontainer/oci-spec.js';
import { DEFAULT_CAPABILITIES } from '../../../plugins/exec-libcontainer/oci-defaults.js';
import { tweakCapabilities } from '../../../plugins/exec-libcontainer/capabilities.js';
import { resolveSeccompProfile, kernelAtLeast } from '../../../plugins/exec-libcontainer/seccomp-profile.js';
import { DEFAULT_SECCOMP_PROFILE } from '../../../plugins/exec-libcontainer/seccomp-default.js';
import { resolveUser } from '../../../plugins/exec-libcontainer/user-lookup.js';
import { mergeTmpfsOptions } from '../../../plugins/exec-libcontainer/tmpfs-options.js';
import { parseSecurityOpts } from '../../../plugins/exec-libcontainer/security-opts.js';
import { clampRlimits } from '../../../plugins/exec-libcontainer/rlimits.js';

let rootfs: string;
before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-ocispec-'));
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\naudio:x:29:\n');
});
after(() => rm(rootfs, { recursive: true, force: true }));

const ctx = (over: Partial<SpecContext> = {}): SpecContext => ({ id: 'c1', rootfs, cgroupVersion: '1', kernelRelease: '6.1.0', arch: 'amd64', sysctlExists: () => true, ...over });
const cfg = (over: Partial<ContainerRunConfig> = {}, hc: ContainerRunConfig['HostConfig'] = {}, c: ContainerRunConfig['Config'] = {}): ContainerRunConfig => ({ Path: 'sh', Args: ['-c', 'true'], Config: c, HostConfig: hc, ...over });

describe('OCI spec as dockerd builds it', () => {
  it('produces the default spec: process, namespaces, mounts, paths, devices, cgroup', async () => {
    const s = await buildOciSpec(cfg({}, {}, { Hostname: 'abc', Env: ['A=1'] }), ctx());
    assert.deepEqual(s.process.args, ['sh', '-c', 'true']);
    assert.deepEqual(s.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=abc', 'A=1']);
    assert.equal(s.process.cwd, '/');
    assert.deepEqual(s.process.user, { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(s.process.capabilities!.bounding, [...DEFAULT_CAPABILITIES]);
    assert.equal(s.process.capabilities!.inheritable, undefined);
    assert.equal(s.hostname, 'abc');
    assert.deepEqual(s.root, { path: rootfs, readonly: false });
    assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.equal(s.linux.cgroupsPath, '/berth/c1');
    assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    assert.ok(s.linux.maskedPaths!.includes('/proc/kcore') && s.linux.maskedPaths!.includes('/proc/interrupts') && s.linux.maskedPaths!.includes('/sys/firmware'));
    assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] });
    assert.deepEqual(s.mounts.find((m) => m.destination === '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    assert.deepEqual(s.linux.resources!.devices![0], { allow: false, access: 'rwm' });
    assert.deepEqual(s.linux.resources!.devices!.at(-1), { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' });
    assert.equal(s.linux.resources!.devices!.length, 8);
    assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.equal(s.process.oomScoreAdj, 0);
    assert.equal(s.process.noNewPrivileges, undefined);
    assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(s.linux.seccomp!.defaultErrnoRet, 1);
    assert.deepEqual(s.linux.seccomp!.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('adds the cgroup namespace on cgroup v2 (dockerd default-cgroupns-mode)', async () => {
    const s = await buildOciSpec(cfg(), ctx({ cgroupVersion: '2' }));
    assert.ok(s.linux.namespaces.some((n) => n.type === 'cgroup'));
    const h = await buildOciSpec(cfg({}, { CgroupnsMode: 'host' }), ctx({ cgroupVersion: '2' }));
    assert.ok(!h.linux.namespaces.some((n) => n.type === 'cgroup'));
  });

  it('maps resources for -m, --memory-swap, --cpus, --cpu-shares, --cpuset-cpus, --pids-limit', async () => {
    const s = await buildOciSpec(cfg({}, { Memory: 512 * 1024 * 1024, MemorySwap: 1024 * 1024 * 1024, NanoCpus: 1_500_000_000, CpuShares: 512, CpusetCpus: '0-1', PidsLimit: 100, BlkioWeight: 300 }), ctx());
    assert.deepEqual(s.linux.resources!.memory, { limit: 536870912, swap: 1073741824 });
    assert.deepEqual(s.linux.resources!.cpu, { shares: 512, cpus: '0-1', period: 100000, quota: 150000 });
    assert.deepEqual(s.linux.resources!.pids, { limit: 100 });
    assert.deepEqual(s.linux.resources!.blockIO, { weight: 300 });
    const u = await buildOciSpec(cfg({}, { PidsLimit: 0, MemorySwap: -1, Memory: 1 << 20 }), ctx());
    assert.deepEqual(u.linux.resources!.pids, { limit: -1 });
    assert.deepEqual(u.linux.resources!.memory, { limit: 1048576, swap: -1 });
  });

  it('--read-only makes the rootfs and remaining defaults ro, keeps /dev, /proc, shm, mqueue, pts writable', async () => {
    const s = await buildOciSpec(cfg({}, { ReadonlyRootfs: true }), ctx());
    assert.equal(s.root.readonly, true);
    const ro = (d: string) => s.mounts.find((m) => m.destination === d)!.options!.includes('ro');
    assert.ok(ro('/sys') && ro('/sys/fs/cgroup'));
    assert.ok(!ro('/proc') && !ro('/dev') && !ro('/dev/shm') && !ro('/dev/mqueue') && !ro('/dev/pts'));
  });

  it('--privileged: all capabilities, no seccomp, no masking, writable /sys and cgroup, all devices allowed', async () => {
    const s = await buildOciSpec(cfg({}, { Privileged: true }), ctx());
    assert.ok(s.process.capabilities!.bounding.includes('CAP_SYS_ADMIN'));
    assert.equal(s.linux.seccomp, undefined);
    assert.equal(s.linux.maskedPaths, undefined);
    assert.equal(s.linux.readonlyPaths, undefined);
    assert.ok(!s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
    assert.ok(!s.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
    assert.deepEqual(s.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
    assert.ok(s.linux.devices!.some((d) => d.path === '/dev/null'));
  });

  it('security options: no-new-privileges, seccomp=unconfined, a custom profile', async () => {
    const s = await buildOciSpec(cfg({}, { SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] }), ctx());
    assert.equal(s.process.noNewPrivileges, true);
    assert.equal(s.linux.seccomp, undefined);
    const custom = await buildOciSpec(cfg({}, { SecurityOpt: ['seccomp=' + JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO' }] })] }), ctx());
    assert.deepEqual(custom.linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO' }] });
    assert.deepEqual(parseSecurityOpts(['no-new-privileges:false']).noNewPrivileges, false);
    assert.throws(() => parseSecurityOpts(['bogus=1']), InvalidParameterError);
  });

  it('cap-add/cap-drop follow moby TweakCapabilities', () => {
    assert.deepEqual(tweakCapabilities(['net_admin'], ['chown']), [...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN'), 'CAP_NET_ADMIN']);
    assert.deepEqual(tweakCapabilities(['CAP_KILL'], ['ALL']), ['CAP_KILL']);
    assert.ok(tweakCapabilities(['ALL'], ['SYS_ADMIN']).includes('CAP_NET_ADMIN'));
    assert.ok(!tweakCapabilities(['ALL'], ['SYS_ADMIN']).includes('CAP_SYS_ADMIN'));
    assert.throws(() => tweakCapabilities(['NOPE']), /unknown capability: "CAP_NOPE"/);
  });

  it('the default seccomp profile depends on capabilities, architecture and kernel as in moby', () => {
    const base = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, { capabilities: [...DEFAULT_CAPABILITIES], arch: 'amd64', kernelRelease: '6.1.0' })!;
    const names = new Set(base.syscalls!.flatMap((s) => s.names));
    assert.ok(names.has('read') && names.has('clone') && names.has('arch_prctl') && names.has('chroot'));
    assert.ok(!names.has('mount') && !names.has('reboot') && !names.has('sync_file_range2'));
    assert.ok(names.has('ptrace')); // minKernel 4.8
    const clone = base.syscalls!.find((s) => s.names.includes('clone') && s.args);
    assert.deepEqual(clone!.args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
    assert.ok(base.syscalls!.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO' && s.errnoRet === 38));
    const admin = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, { capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], arch: 'amd64', kernelRelease: '6.1.0' })!;
    const adminNames = new Set(admin.syscalls!.flatMap((s) => s.names));
    assert.ok(adminNames.has('mount') && adminNames.has('setns'));
    assert.ok(!admin.syscalls!.some((s) => s.names.includes('clone3') && s.action === 'SCMP_ACT_ERRNO'));
    const old = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, { capabilities: [...DEFAULT_CAPABILITIES], arch: 'amd64', kernelRelease: '4.4.0' })!;
    assert.ok(!old.syscalls!.flatMap((s) => s.names).includes('ptrace'));
    assert.ok(kernelAtLeast('4.8.0-gentoo', '4.8') && !kernelAtLeast('4.7', '4.8') && kernelAtLeast('5.0', '4.8'));
    const arm = resolveSeccompProfile(DEFAULT_SECCOMP_PROFILE, { capabilities: [], arch: 'arm64', kernelRelease: '6.1' })!;
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.ok(!arm.syscalls!.flatMap((s) => s.names).includes('arch_prctl'));
  });

  it('resolves user[:group] from the rootfs /etc/passwd and /etc/group', async () => {
    assert.deepEqual(await resolveUser(rootfs, 'app'), { uid: 1000, gid: 1000, additionalGids: [1000, 2000] });
    assert.deepEqual(await resolveUser(rootfs, 'app:audio'), { uid: 1000, gid: 29, additionalGids: [29] });
    assert.deepEqual(await resolveUser(rootfs, '1234:5678'), { uid: 1234, gid: 5678, additionalGids: [5678] });
    assert.deepEqual(await resolveUser(rootfs, '1234'), { uid: 1234, gid: 0, additionalGids: [0] });
    assert.deepEqual(await resolveUser(rootfs, 'app', ['audio', '77']), { uid: 1000, gid: 1000, additionalGids: [1000, 2000, 29, 77] });
    await assert.rejects(resolveUser(rootfs, 'ghost'), /unable to find user ghost/);
    await assert.rejects(resolveUser(rootfs, 'app:ghosts'), /unable to find group ghosts/);
  });

  it('follows an /etc symlink inside the rootfs, never out of it', async () => {
    const r = await mkdtemp(join(tmpdir(), 'berth-ocispec-link-'));
    try {
      await mkdir(join(r, 'real'));
      await writeFile(join(r, 'real/passwd'), 'web:x:33:33::/:/bin/sh\n');
      await symlink('/real', join(r, 'etc'));
      assert.equal((await resolveUser(r, 'web')).uid, 33);
      await rm(join(r, 'etc'));
      await symlink('../../../../etc', join(r, 'etc'));
      await assert.rejects(resolveUser(r, 'root'), /unable to find user root/); // the host's /etc/passwd is out of scope
    } finally {
      await rm(r, { recursive: true, force: true });
    }
  });

  it('env, tty, hostname, cwd, init, tmpfs, binds, ulimits, sysctls, network modes', async () => {
    const s = await buildOciSpec(
      cfg({ Mounts: [{ Source: '/srv/data', Destination: '/data', ReadOnly: true }, { Source: 'tmpfs', Destination: '/dev/shm', Type: 'tmpfs', Options: ['size=1m'] }] },
        { Init: true, Tmpfs: { '/run': 'exec,size=10m' }, Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }], Sysctls: { 'net.core.somaxconn': '1024' }, NetworkMode: 'host', ShmSize: 1 << 20, ConsoleSize: [24, 80] },
        { Tty: true, Env: ['PATH=/x', 'HOSTNAME'], WorkingDir: '/app', Hostname: 'h' }),
      ctx({ initPath: '/usr/bin/docker-init' }),
    );
    assert.deepEqual(s.process.env, ['PATH=/x', 'TERM=xterm']);
    assert.equal(s.process.terminal, true);
    assert.deepEqual(s.process.consoleSize, { height: 24, width: 80 });
    assert.equal(s.process.cwd, '/app');
    assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'sh', '-c', 'true']);
    assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }]);
    assert.ok(!s.linux.namespaces.some((n) => n.type === 'network'));
    assert.deepEqual(s.linux.sysctl, { 'net.core.somaxconn': '1024' });
    const m = (d: string) => s.mounts.find((x) => x.destination === d);
    assert.deepEqual(m('/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/docker-init', options: ['bind', 'ro'] });
    assert.deepEqual(m('/data'), { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] });
    assert.deepEqual(m('/run')!.options, ['exec', 'nosuid', 'nodev', 'rprivate', 'size=10m']);
    assert.deepEqual(m('/dev/shm')!.options, ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1m']);
    assert.equal(s.mounts.filter((x) => x.destination === '/dev/shm').length, 1);
  });

  it('ulimits are clamped to the daemon hard limit and soft never exceeds hard', () => {
    assert.deepEqual(clampRlimits([{ Name: 'nofile', Soft: 4096, Hard: 1 << 20 }], () => 65536), [{ type: 'RLIMIT_NOFILE', soft: 4096, hard: 65536 }]);
    assert.throws(() => clampRlimits([{ Name: 'nofile', Soft: 10, Hard: 5 }]), /soft limit must be less than or equal to hard limit/);
  });

  it('exec processes inherit the container env and take their own user, env and cwd', async () => {
    const s = await buildOciSpec(cfg({}, {}, { Env: ['A=1'], User: 'app' }), ctx());
    const p = await buildExecProcess(s, { Cmd: ['ls'], Env: ['A=2', 'B=3'], WorkingDir: '/tmp' }, rootfs, 'app');
    assert.deepEqual(p.args, ['ls']);
    assert.ok(p.env.includes('A=2') && p.env.includes('B=3'));
    assert.equal(p.cwd, '/tmp');
    assert.equal(p.user.uid, 1000);
    assert.deepEqual(p.capabilities, s.process.capabilities);
    const root = await buildExecProcess(s, { Cmd: ['id'], User: 'root', Privileged: true }, rootfs, 'app');
    assert.equal(root.user.uid, 0);
    assert.ok(root.capabilities!.bounding.includes('CAP_SYS_ADMIN'));
  });

  it('helpers: env replacement and tmpfs option merging', () => {
    assert.deepEqual(replaceOrAppendEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'A']), ['B=3', 'C=4']);
    assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'rprivate', 'exec', 'size=1m', 'size=2m', 'shared']), ['exec', 'nosuid', 'shared', 'size=2m']);
  });
});
