/**
 * The one conformance suite every exec driver runs (exec-libcontainer with
 * each OCI runtime, later exec-lxc): a busybox container from a rootfs
 * directory, its output per stream, exit codes as dockerd reports them,
 * signals, pause/resume and containerd's illegal-transition errors, exec,
 * TTY, env/cwd/user/hostname, memory and pids limits, a readonly rootfs,
 * stdin, live-restore across driver instances, and cleanup on delete.
 *
 * Every container and cgroup a test makes is removed in `after`/`afterEach`
 * hooks, even when the test fails; all state lives in a temp dir and a
 * private cgroup parent.
 *
 * Callers: test/plugins/<driver>/*.test.ts, each passing a factory that opens
 * its driver on a root directory (the same root again = a restarted daemon).
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ConflictError, TaskStartError, type ContainerRunConfig, type ExecDriver, type Task, type TaskIO } from '../../kernel/index.js';
import { buildBusyboxRootfs } from './exec/busybox-rootfs.js';
import { cgroupExists, removeCgroupParent } from './exec/cgroup-cleanup.js';
import { Collector } from './exec/collect.js';

export type ExecDriverFactory = (root: string) => Promise<ExecDriver>;

export interface ExecDriverSuiteOptions {
  skip?: string;
  /** Runtime name to pass in TaskSpec (undefined = the driver's default). */
  runtime?: string;
  /** True when the driver's runtime state for `id` still exists (runc's --root dir), for the delete check. */
  runtimeStateExists?: (root: string, id: string) => Promise<boolean>;
}

export function execDriverSuite(name: string, factory: ExecDriverFactory, opts: ExecDriverSuiteOptions = {}): void {
  describe(`exec driver conformance: ${name}`, { skip: opts.skip }, () => {
    let dir: string;
    let root: string;
    let rootfs: string;
    let driver: ExecDriver;
    const parent = `/berth-test-${process.pid}-${randomBytes(3).toString('hex')}`;
    const tasks: Task[] = [];
    let seq = 0;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `berth-exec-${name}-`));
      root = join(dir, 'driver');
      rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
      driver = await factory(root);
    });

    afterEach(async () => {
      for (const t of tasks.splice(0)) await t.delete({ force: true }).catch(() => undefined);
    });

    after(async () => {
      try {
        for (const t of tasks.splice(0)) await t.delete({ force: true }).catch(() => undefined);
        await driver?.dispose();
      } finally {
        removeCgroupParent(parent);
        await rm(dir, { recursive: true, force: true });
      }
    });

    const newId = () => `t${process.pid}x${++seq}${randomBytes(2).toString('hex')}`;

    function config(cmd: string[], over: { Config?: ContainerRunConfig['Config']; HostConfig?: ContainerRunConfig['HostConfig'] } = {}): ContainerRunConfig {
      return {
        Path: cmd[0]!,
        Args: cmd.slice(1),
        Config: { Env: [], ...over.Config },
        HostConfig: { CgroupParent: parent, NetworkMode: 'none', ...over.HostConfig },
      };
    }

    /** Creates (not starts) a task whose output is collected. */
    async function create(cmd: string[], over: Parameters<typeof config>[1] = {}, io: Partial<TaskIO> = {}) {
      const stdout = new Collector();
      const stderr = new Collector();
      const id = newId();
      const task = await driver.create({ id, runtime: opts.runtime, rootfs, config: config(cmd, over), io: { terminal: over.Config?.Tty === true, stdout, stderr, ...io } });
      tasks.push(task);
      return { id, task, stdout, stderr };
    }

    /** Runs a command to its end: exit status and both outputs. */
    async function run(cmd: string[], over: Parameters<typeof config>[1] = {}, io: Partial<TaskIO> = {}) {
      const c = await create(cmd, over, io);
      await c.task.start();
      const exit = await c.task.wait();
      await Promise.all([c.stdout.ended, c.stderr.ended]);
      return { ...c, exit, out: c.stdout.text(), err: c.stderr.text() };
    }

    it('lists its runtimes and capabilities', () => {
      assert.ok(driver.runtimes().length > 0);
      assert.ok(driver.runtimes().some((r) => r.name === driver.defaultRuntime));
      for (const r of driver.runtimes()) assert.ok(r.path.startsWith('/'), r.path);
      assert.ok(driver.capabilities.size > 0);
    });

    it('reports its default runtime\'s version, probed once, and nothing for a runtime it does not serve', async () => {
      const first = driver.runtimeVersion(driver.defaultRuntime);
      assert.match(await first, /\d+\.\d+/);
      assert.equal(driver.runtimeVersion(driver.defaultRuntime), first, 'the probe is remembered');
      assert.equal(await driver.runtimeVersion('no-such-runtime'), '');
    });

    it('captures stdout and stderr separately and reports exit code 0', async () => {
      const r = await run(['sh', '-c', 'echo out1; echo err1 >&2; echo out2']);
      assert.equal(r.exit.exitCode, 0);
      assert.equal(r.exit.oomKilled, false);
      assert.ok(r.exit.exitedAt instanceof Date && Math.abs(Date.now() - r.exit.exitedAt.getTime()) < 60_000);
      assert.equal(r.out, 'out1\nout2\n');
      assert.equal(r.err, 'err1\n');
    });

    it('reports the exit code of the process (3)', async () => {
      const r = await run(['sh', '-c', 'exit 3']);
      assert.equal(r.exit.exitCode, 3);
    });

    it('keeps partial lines and binary output intact', async () => {
      const r = await run(['printf', 'no newline\\001\\377']);
      assert.equal(r.exit.exitCode, 0);
      assert.deepEqual(Buffer.from(r.out, 'utf8').subarray(0, 10).toString(), 'no newline');
    });

    it('reports a missing binary as exit code 127, as dockerd maps it', async () => {
      let code: number | undefined;
      try {
        const c = await create(['/no/such/binary']);
        await c.task.start();
        code = (await c.task.wait()).exitCode;
      } catch (err) {
        assert.ok(err instanceof TaskStartError, `expected TaskStartError, got ${String(err)}`);
        code = err.exitCode;
      }
      assert.equal(code, 127);
    });

    it('delivers SIGTERM to a process that handles it', async () => {
      const c = await create(['sh', '-c', 'trap "exit 42" TERM; echo ready; while true; do sleep 0.1; done']);
      await c.task.start();
      await waitFor(() => c.stdout.text().includes('ready'));
      await c.task.kill('SIGTERM');
      assert.equal((await c.task.wait()).exitCode, 42);
    });

    it('kills with SIGKILL: exit code 137', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      await c.task.kill('KILL');
      const exit = await c.task.wait();
      assert.equal(exit.exitCode, 137);
      assert.equal(await c.task.status(), 'stopped');
      await assert.rejects(c.task.kill('SIGKILL'), ConflictError);
    });

    it('pauses and resumes, refusing illegal transitions like containerd', async () => {
      const c = await create(['sleep', '1000']);
      assert.equal(await c.task.status(), 'created');
      await assert.rejects(c.task.pause(), (e: Error) => e instanceof ConflictError && e.message === 'cannot pause task in created state');
      await assert.rejects(c.task.resume(), (e: Error) => e instanceof ConflictError && e.message === 'cannot resume task in created state');
      await c.task.start();
      assert.equal(await c.task.status(), 'running');
      assert.ok(c.task.pid > 0);
      await assert.rejects(c.task.start(), ConflictError);
      await assert.rejects(c.task.resume(), ConflictError);
      await c.task.pause();
      assert.equal(await c.task.status(), 'paused');
      await assert.rejects(c.task.pause(), ConflictError);
      await assert.rejects(c.task.delete(), ConflictError);
      await c.task.resume();
      assert.equal(await c.task.status(), 'running');
      await assert.rejects(c.task.delete(), (e: Error) => e instanceof ConflictError && e.message === 'cannot delete a running process');
      await c.task.kill('SIGKILL');
      await c.task.wait();
      await assert.rejects(c.task.pause(), ConflictError);
    });

    it('execs a second process with its own output and exit code', async () => {
      const c = await create(['sleep', '1000'], { Config: { Env: ['FROM_TASK=yes'] } });
      await c.task.start();
      const out = new Collector();
      const err = new Collector();
      const p = await c.task.exec('exec1', { Cmd: ['sh', '-c', 'echo exec-out $FROM_TASK; echo exec-err >&2; exit 5'] }, { terminal: false, stdout: out, stderr: err });
      await p.start();
      assert.ok(p.pid > 0);
      assert.equal((await p.wait()).exitCode, 5);
      await Promise.all([out.ended, err.ended]);
      assert.equal(out.text(), 'exec-out yes\n');
      assert.equal(err.text(), 'exec-err\n');
      assert.ok((await c.task.pids()).includes(c.task.pid));
      await assert.rejects(c.task.exec('exec1', { Cmd: ['true'] }, { terminal: false }), ConflictError);
    });

    it('reports a missing exec binary as 127', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      let code: number | undefined;
      try {
        const p = await c.task.exec('missing', { Cmd: ['no-such-cmd'] }, { terminal: false });
        await p.start();
        code = (await p.wait()).exitCode;
      } catch (err) {
        assert.ok(err instanceof TaskStartError, String(err));
        code = err.exitCode;
      }
      assert.equal(code, 127);
    });

    it('reports an exec of a file that is not executable as 126', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      let code: number | undefined;
      try {
        const p = await c.task.exec('noexec', { Cmd: ['/etc/passwd'] }, { terminal: false });
        await p.start();
        code = (await p.wait()).exitCode;
      } catch (err) {
        assert.ok(err instanceof TaskStartError, String(err));
        code = err.exitCode;
      }
      assert.equal(code, 126);
    });

    it('gives an exec pipes as stdio: /dev/stdout and /dev/stderr open as with containerd', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      const out = new Collector();
      const err = new Collector();
      const p = await c.task.exec('devstdio', { Cmd: ['sh', '-c', 'echo to-out > /dev/stdout && echo to-err > /dev/stderr'] }, { terminal: false, stdout: out, stderr: err });
      await p.start();
      assert.equal((await p.wait()).exitCode, 0);
      await Promise.all([out.ended, err.ended]);
      assert.equal(out.text(), 'to-out\n');
      assert.equal(err.text(), 'to-err\n');
    });

    it('feeds an exec stdin and closes it at its end; kill signals a running exec (128+n), not a finished one', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      const stdin = new PassThrough();
      const out = new Collector();
      const p = await c.task.exec('stdin1', { Cmd: ['sh', '-c', 'cat; echo eof'] }, { terminal: false, stdin, stdinOnce: true, stdout: out, stderr: new Collector() });
      await p.start();
      stdin.end('fed\n');
      assert.equal((await p.wait()).exitCode, 0);
      await out.ended;
      assert.equal(out.text(), 'fed\neof\n');
      await assert.rejects(p.kill('SIGTERM'), ConflictError);

      const sleeper = await c.task.exec('sleeper', { Cmd: ['sleep', '1000'] }, { terminal: false, stdout: new Collector(), stderr: new Collector() });
      await sleeper.start();
      assert.ok(sleeper.pid > 0);
      await sleeper.kill('SIGKILL');
      assert.equal((await sleeper.wait()).exitCode, 137);
    });

    it('ends an exec when its task is killed', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      const out = new Collector();
      const p = await c.task.exec('orphan', { Cmd: ['sleep', '1000'] }, { terminal: false, stdout: out, stderr: new Collector() });
      await p.start();
      await c.task.kill('SIGKILL');
      await c.task.wait();
      // The kernel kills the rest of the pid namespace (137 from runc; lxc-attach reports its own status).
      assert.notEqual((await p.wait()).exitCode, 0);
      await out.ended;
    });

    it('refuses exec in a stopped task', async () => {
      const r = await run(['true']);
      await assert.rejects(r.task.exec('late', { Cmd: ['true'] }, { terminal: false }), ConflictError);
    });

    it('runs with a TTY: one output stream, CRLF line ends, a pts device', async () => {
      const r = await run(['sh', '-c', 'tty; echo hi; echo to-stderr >&2'], { Config: { Tty: true } });
      assert.equal(r.exit.exitCode, 0);
      assert.match(r.out, /^\/dev\/pts\/\d+\r\n/);
      assert.ok(r.out.includes('hi\r\n'));
      assert.ok(r.out.includes('to-stderr\r\n'));
      assert.equal(r.err, '');
    });

    it('resizes the TTY', async (t) => {
      if (!driver.capabilities.has('resize')) return t.skip('no resize capability');
      const c = await create(['sh', '-c', 'sleep 1; stty size'], { Config: { Tty: true } });
      await c.task.start();
      await c.task.resize({ height: 33, width: 101 });
      await c.task.wait();
      await c.stdout.ended;
      assert.equal(c.stdout.text().trim(), '33 101');
    });

    it('feeds stdin and closes it at the end when StdinOnce', async (t) => {
      if (!driver.capabilities.has('stdin')) return t.skip('no stdin capability');
      const stdin = new PassThrough();
      const c = await create(['sh', '-c', 'cat; echo done'], { Config: { OpenStdin: true, StdinOnce: true } }, { stdin, stdinOnce: true });
      await c.task.start();
      stdin.end('line one\nline two\n');
      const exit = await c.task.wait();
      await c.stdout.ended;
      assert.equal(exit.exitCode, 0);
      assert.equal(c.stdout.text(), 'line one\nline two\ndone\n');
    });

    it('applies env, working directory (created if missing) and user[:group] from /etc/passwd and /etc/group', async () => {
      const r = await run(['sh', '-c', 'echo "$FOO|$HOSTNAME|$PATH"; pwd; id -u; id -g; id -G'], {
        Config: { Env: ['FOO=bar'], WorkingDir: '/work/dir', User: 'tester', Hostname: 'envhost' },
      });
      assert.equal(r.exit.exitCode, 0, r.err);
      const [env, cwd, uid, gid, groups] = r.out.trim().split('\n');
      assert.equal(env, 'bar|envhost|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      assert.equal(cwd, '/work/dir');
      assert.equal(uid, '1000');
      assert.equal(gid, '1000');
      assert.deepEqual(groups!.split(' ').sort(), ['1000', '1001']);
      const g = await run(['sh', '-c', 'id -u; id -g'], { Config: { User: 'tester:testgrp' } });
      assert.equal(g.out, '1000\n1001\n');
      const n = await run(['id', '-u'], { Config: { User: '4242' } });
      assert.equal(n.out, '4242\n');
    });

    it('sets the hostname', async () => {
      const r = await run(['hostname'], { Config: { Hostname: 'berth-conformance' } });
      assert.equal(r.out, 'berth-conformance\n');
    });

    it('puts the memory limit in the cgroup', async () => {
      const r = await run(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'], { HostConfig: { Memory: 64 * 1024 * 1024 } });
      assert.equal(r.exit.exitCode, 0, r.err);
      assert.equal(r.out.trim(), String(64 * 1024 * 1024));
    });

    it('enforces the pids limit', async () => {
      const r = await run(['sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'], { HostConfig: { PidsLimit: 17 } });
      assert.equal(r.out.trim(), '17');
    });

    it('mounts the rootfs readonly with --read-only, /dev/shm stays writable', async () => {
      const r = await run(['sh', '-c', 'touch /should-fail; echo $?; touch /dev/shm/ok && echo shm-ok'], { HostConfig: { ReadonlyRootfs: true } });
      const [touchCode, shm] = r.out.trim().split('\n');
      assert.notEqual(touchCode, '0');
      assert.equal(shm, 'shm-ok');
      assert.match(r.err, /Read-only file system/);
    });

    it('reports stats and pids of a running task', async (t) => {
      if (!driver.capabilities.has('stats')) return t.skip('no stats capability');
      const c = await create(['sleep', '1000'], { HostConfig: { Memory: 32 * 1024 * 1024 } });
      await c.task.start();
      const s = await c.task.stats();
      assert.ok(s.pids.current >= 1);
      assert.ok(s.memory.usage > 0);
      assert.equal(s.memory.limit, 32 * 1024 * 1024);
      assert.deepEqual(await c.task.pids(), [c.task.pid]);
    });

    it('a task survives the driver; a new driver restores it, sees its output and exit', async () => {
      const c = await create(['sh', '-c', 'echo before; sleep 2; echo after; exit 7']);
      await c.task.start();
      await waitFor(() => c.stdout.text().includes('before'));
      await driver.dispose();
      await driver.dispose(); // twice is harmless
      driver = await factory(root);
      assert.ok((await driver.list()).includes(c.id));
      const out = new Collector();
      const restored = await driver.restore(c.id, { terminal: false, stdout: out, from: 'start' });
      assert.ok(restored);
      tasks.push(restored);
      assert.equal(restored.pid, c.task.pid);
      assert.equal(restored.runtime, c.task.runtime);
      assert.equal(await restored.status(), 'running');
      const exit = await restored.wait();
      assert.equal(exit.exitCode, 7);
      await out.ended;
      assert.equal(out.text(), 'before\nafter\n');
      assert.equal(await driver.restore('no-such-task'), undefined);
    });

    it('restores a task that exited while no driver was running', async () => {
      const c = await create(['sh', '-c', 'exit 9']);
      await driver.dispose();
      await c.task.start().catch(() => undefined); // the old handle still drives the runtime
      driver = await factory(root);
      const restored = await driver.restore(c.id);
      assert.ok(restored);
      tasks.push(restored);
      const exit = await restored.wait();
      assert.equal(exit.exitCode, 9);
      assert.equal(await restored.status(), 'stopped');
    });

    it('delete removes the runtime state, the task and its cgroup', async () => {
      const r = await run(['true'], { HostConfig: { Memory: 16 * 1024 * 1024 } });
      await r.task.delete();
      await r.task.delete(); // twice is harmless
      assert.ok(!(await driver.list()).includes(r.id));
      assert.equal(await driver.restore(r.id), undefined);
      assert.equal(cgroupExists(`${parent}/${r.id}`), false);
      if (opts.runtimeStateExists) assert.equal(await opts.runtimeStateExists(root, r.id), false);
    });

    it('force-deletes a running task', async () => {
      const c = await create(['sleep', '1000']);
      await c.task.start();
      await c.task.delete({ force: true });
      assert.ok(!(await driver.list()).includes(c.id));
      assert.equal(cgroupExists(`${parent}/${c.id}`), false);
    });
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}
