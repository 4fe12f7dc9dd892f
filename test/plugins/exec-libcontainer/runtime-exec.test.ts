/**
 * Execs without a terminal run by the runtime as berthd's child
 * (plugins/exec-libcontainer/runtime-exec.ts) and the pipes they get
 * (fifo-pool.ts): what the conformance suite cannot see from outside — no
 * conmon for them, no files left behind, pipes that are pipes in blocking
 * mode, output left open by a background process ended as dockerd does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Task } from '../../../kernel/index.js';
import { FifoPool, openPipe } from '../../../plugins/exec-libcontainer/fifo-pool.js';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';
import { LibcontainerDriver } from '../../../plugins/exec-libcontainer/libcontainer-driver.js';
import { buildBusyboxRootfs, busyboxMissing } from '../../conformance/exec/busybox-rootfs.js';
import { removeCgroupParent } from '../../conformance/exec/cgroup-cleanup.js';
import { Collector } from '../../conformance/exec/collect.js';

const runc = findBinary('runc');
const conmon = findBinary('conmon');
const mkfifo = findBinary('mkfifo');

const O_NONBLOCK = 0o4000;
/** The file status flags of one of our fds, from /proc. */
function fdFlags(fd: number): number {
  return parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
}

/** Command lines of every process, to find a monitor by the exec id it was given. */
function commandLines(): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { out.push(readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')); } catch { /* gone */ }
  }
  return out;
}

describe('fifo pool: pipes for execs', { skip: mkfifo ? undefined : 'mkfifo is not installed' }, () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-fifos-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('hands out each FIFO once, and makes the next batch ahead', async () => {
    const pool = new FifoPool(join(dir, 'pool'), mkfifo!, 4);
    const a = await pool.take(3);
    const b = await pool.take(3);
    assert.equal(new Set([...a, ...b]).size, 6);
    for (const p of [...a, ...b]) assert.ok(statSync(p).isFIFO(), p);
  });

  it('opens an output pipe: ours non-blocking, the child\'s blocking, the name gone', async () => {
    const [path] = await new FifoPool(join(dir, 'out'), mkfifo!, 2).take(1);
    const ends = openPipe(path!, 'output');
    try {
      assert.equal(existsSync(path!), false);
      assert.ok(fdFlags(ends.ours) & O_NONBLOCK);
      assert.equal(fdFlags(ends.theirs) & O_NONBLOCK, 0);
      assert.equal(fdFlags(ends.theirs) & 3, 1, 'the child writes');
    } finally {
      closeSync(ends.ours);
      closeSync(ends.theirs);
    }
  });

  it('opens an input pipe: the child reads in blocking mode', async () => {
    const [path] = await new FifoPool(join(dir, 'in'), mkfifo!, 2).take(1);
    const ends = openPipe(path!, 'input');
    try {
      assert.equal(fdFlags(ends.theirs) & 3, 0, 'the child reads');
      assert.equal(fdFlags(ends.theirs) & O_NONBLOCK, 0);
      assert.equal(fdFlags(ends.ours) & 3, 1);
    } finally {
      closeSync(ends.ours);
      closeSync(ends.theirs);
    }
  });
});

const skip = !runc ? 'runc is not installed' : !conmon ? 'conmon is not installed' : !mkfifo ? 'mkfifo is not installed' : busyboxMissing();

describe('exec without a terminal: the runtime as berthd\'s child', { skip }, () => {
  let dir: string;
  let driver: LibcontainerDriver;
  let task: Task;
  let rootfs: string;
  const parent = `/berth-test-${process.pid}-${randomBytes(3).toString('hex')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-runtime-exec-'));
    rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
    driver = new LibcontainerDriver({
      stateDir: join(dir, 'state'),
      spoolDir: join(dir, 'spool'),
      runtimeRoot: join(dir, 'runtime'),
      runtimes: { runc: { path: runc! } },
      defaultRuntime: 'runc',
      conmonPath: conmon!,
      socatPath: findBinary('socat'),
      mkfifoPath: mkfifo,
    });
    task = await driver.create({ id: `rx${process.pid}`, rootfs, config: { Path: 'sleep', Args: ['1000'], Config: {}, HostConfig: { CgroupParent: parent, NetworkMode: 'none' } }, io: { terminal: false } });
    await task.start();
  });

  after(async () => {
    try {
      await task?.delete({ force: true }).catch(() => undefined);
      await driver?.dispose();
    } finally {
      removeCgroupParent(parent);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs without a conmon of its own and leaves no files behind', async () => {
    const execId = `x${randomBytes(8).toString('hex')}`;
    const out = new Collector();
    const stdin = new PassThrough();
    const withStdin = await task.exec(`${execId}i`, { Cmd: ['sh', '-c', 'read line; echo "got $line"'] }, { terminal: false, stdin, stdinOnce: true, stdout: out, stderr: new Collector() });
    await withStdin.start();
    // While it waits for its stdin: no monitor was given its id.
    const monitors = commandLines().filter((c) => c.startsWith(conmon!) && c.includes(`${execId}i`));
    assert.deepEqual(monitors, []);
    stdin.end('hello\n');
    assert.equal((await withStdin.wait()).exitCode, 0);
    await out.ended;
    assert.equal(out.text(), 'got hello\n');
    // The exec's directory (process.json, pid file) goes once it is over.
    const execDir = join(dir, 'state', 'tasks', task.id, 'exec', `${execId}i`);
    for (let i = 0; i < 100 && existsSync(execDir); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(execDir), false);
    assert.equal(existsSync(join(dir, 'spool', task.id, `exec-${execId}i.log`)), false, 'no output spool');
  });

  it('ends the streams after the exit even if a background process holds them (dockerd waits 2 s)', async () => {
    const out = new Collector();
    const p = await task.exec(`bg${randomBytes(4).toString('hex')}`, { Cmd: ['sh', '-c', 'sleep 60 & echo started'] }, { terminal: false, stdout: out, stderr: new Collector() });
    await p.start();
    assert.equal((await p.wait()).exitCode, 0);
    const t0 = Date.now();
    await out.ended;
    assert.ok(Date.now() - t0 < 30_000, 'not held open until the background sleep ends');
    assert.equal(out.text(), 'started\n');
  });

  it('reports the process\'s own pid, a process of the task, and 137 when the task is killed under it', async () => {
    const c = await driver.create({ id: `rk${process.pid}`, rootfs, config: { Path: 'sleep', Args: ['1000'], Config: {}, HostConfig: { CgroupParent: parent, NetworkMode: 'none' } }, io: { terminal: false } });
    try {
      await c.start();
      const p = await c.exec('sleeper', { Cmd: ['sleep', '1000'] }, { terminal: false, stdout: new Collector(), stderr: new Collector() });
      await p.start();
      assert.ok((await c.pids()).includes(p.pid), 'the exec pid is a process of the task');
      // The runtime writes the pid file as it lets its init go on to exec the command: for a moment the
      // process is still the runtime's, or in the middle of its execve (an empty cmdline).
      const cmdline = () => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
      for (const t0 = Date.now(); !cmdline().startsWith('sleep\0') && Date.now() - t0 < 5000;) await new Promise((r) => setTimeout(r, 10));
      assert.match(cmdline(), /^sleep\0/);
      await c.kill('SIGKILL');
      await c.wait();
      assert.equal((await p.wait()).exitCode, 137);
    } finally {
      await c.delete({ force: true }).catch(() => undefined);
    }
  });

  it('a TTY exec still runs under conmon (it takes the pty from the runtime)', async () => {
    const out = new Collector();
    const p = await task.exec(`tty${randomBytes(4).toString('hex')}`, { Cmd: ['tty'], Tty: true }, { terminal: true, stdout: out });
    await p.start();
    assert.equal((await p.wait()).exitCode, 0);
    await out.ended;
    assert.match(out.text(), /^\/dev\/pts\/\d+\r\n$/);
  });
});
