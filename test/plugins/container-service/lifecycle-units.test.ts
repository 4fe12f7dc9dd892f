import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { ContainerLogger, ContainerState, LogEntry } from '../../../kernel/index.js';
import { RestartManager } from '../../../plugins/container-service/restart-policy.js';
import { Waiters } from '../../../plugins/container-service/waiters.js';
import { DetachKeyFilter, parseDetachKeys } from '../../../plugins/container-service/detach-keys.js';
import { parseCriLine, parseRfc3339Nano } from '../../../plugins/container-service/cri-line.js';
import { hostsContent, resolvConfContent } from '../../../plugins/container-service/etc-files.js';
import { restartingState, runningState, startFailedState, stoppedState } from '../../../plugins/container-service/state-transitions.js';
import { parseSignal } from '../../../plugins/container-service/signals.js';
import { openSpoolCopy } from '../../../plugins/container-service/spool-copy-log.js';
import { OutputPump } from '../../../plugins/container-service/output-pump.js';
import { nanoToRfc3339 } from '../../../plugins/container-service/time-format.js';
import { parsePsOutput, validatePsArgs } from '../../../plugins/container-service/ps-output.js';
import { applyUpdate } from '../../../plugins/container-service/update-config.js';
import { parseBind, planMountPoints } from '../../../plugins/container-service/mount-points.js';
import { resolveInRootfs } from '../../../plugins/container-service/rootfs-resolve.js';

const CREATED: ContainerState = { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' };

describe('restart policies (dockerd restartmanager)', () => {
  it('no / empty never restart', () => {
    assert.equal(new RestartManager({ Name: 'no' }, 0).shouldRestart(1, false, 0).restart, false);
    assert.equal(new RestartManager(undefined, 0).shouldRestart(1, false, 0).restart, false);
  });

  it('always restarts, even after a stop by hand, until canceled', () => {
    const rm = new RestartManager({ Name: 'always' }, 0);
    assert.equal(rm.shouldRestart(0, true, 0).restart, true);
    rm.cancel();
    assert.equal(rm.shouldRestart(0, false, 0).restart, false);
  });

  it('unless-stopped does not restart a container stopped by hand', () => {
    assert.equal(new RestartManager({ Name: 'unless-stopped' }, 0).shouldRestart(0, false, 0).restart, true);
    assert.equal(new RestartManager({ Name: 'unless-stopped' }, 0).shouldRestart(0, true, 0).restart, false);
  });

  it('on-failure[:N] restarts non-zero exits at most N times', () => {
    const rm = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 2 }, 0);
    assert.equal(rm.shouldRestart(0, false, 0).restart, false);
    assert.equal(rm.shouldRestart(1, false, 0).restart, true);
    assert.equal(rm.shouldRestart(1, false, 0).restart, true);
    assert.equal(rm.shouldRestart(1, false, 0).restart, false);
    assert.equal(new RestartManager({ Name: 'on-failure', MaximumRetryCount: 2 }, 2).shouldRestart(1, false, 0).restart, false, 'the count survives a daemon restart');
    assert.equal(new RestartManager({ Name: 'on-failure' }, 1000).shouldRestart(1, false, 0).restart, true, 'no maximum');
  });

  it('backs off from 100 ms, doubling up to a minute, and starts over after a 10 s run', () => {
    const rm = new RestartManager({ Name: 'always' }, 0);
    const delays = Array.from({ length: 12 }, () => rm.shouldRestart(0, false, 0).delayMs);
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    assert.equal(rm.shouldRestart(0, false, 10_000).delayMs, 100);
  });
});

describe('waiters (container/state.go wake-up rules)', () => {
  it('a stop wakes not-running and next-exit, a removal wakes everyone', async () => {
    const w = new Waiters();
    const notRunning = w.add('c', 'not-running');
    const nextExit = w.add('c', 'next-exit');
    const removed = w.add('c', 'removed');
    const other = w.add('d', 'not-running');
    w.stopped('c', { exitCode: 3 });
    assert.deepEqual(await notRunning.promise, { exitCode: 3 });
    assert.deepEqual(await nextExit.promise, { exitCode: 3 });
    let removedDone = false;
    void removed.promise.then(() => { removedDone = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(removedDone, false);
    w.removed('c', { exitCode: 3, error: 'boom' });
    assert.deepEqual(await removed.promise, { exitCode: 3, error: 'boom' });
    other.cancel();
    w.stopped('d', { exitCode: 0 });
  });
});

describe('detach keys', () => {
  it('parses moby term.ToBytes names', () => {
    assert.deepEqual(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
    assert.deepEqual(parseDetachKeys('a,ctrl-@,ctrl-\\,DEL'), [97, 0, 28, 127]);
    assert.throws(() => parseDetachKeys('ctrl-nope'), /Invalid detach keys \(ctrl-nope\) provided/);
  });

  it('passes bytes through, holds a prefix back, swallows the sequence and stops', async () => {
    const f = new DetachKeyFilter([16, 17]);
    const out: Buffer[] = [];
    f.on('data', (b: Buffer) => out.push(b));
    let detached = 0;
    f.on('detach', () => detached++);
    f.write(Buffer.from('ab\x10'));
    f.write(Buffer.from('c\x10'));
    f.write(Buffer.from('\x11after'));
    await new Promise((r) => setImmediate(r));
    assert.equal(Buffer.concat(out).toString('latin1'), 'ab\x10c');
    assert.equal(detached, 1);
  });
});

describe('CRI spool lines', () => {
  it('parses full and partial lines with their time in nanoseconds', () => {
    const full = parseCriLine(Buffer.from('2026-11-27T19:04:51.123456789+00:00 stderr F hello world'));
    assert.deepEqual(full && { ...full, bytes: full.bytes.toString() }, { stream: 'stderr', partial: false, bytes: 'hello world', timeNano: 1795806291123456789n });
    const part = parseCriLine(Buffer.from('2026-11-27T20:04:51.5+01:00 stdout P abc'));
    assert.equal(part?.partial, true);
    assert.equal(part?.timeNano, 1795806291500000000n);
    assert.equal(parseCriLine(Buffer.from('garbage')), undefined);
    assert.equal(parseRfc3339Nano('2026-11-27T19:04:51Z'), 1795806291000000000n);
    assert.equal(nanoToRfc3339(1795806291000000050n), '2026-11-27T19:04:51.000000050Z');
  });
});

describe('/etc files', () => {
  it('hosts: the default entries and --add-host', () => {
    const h = hostsContent(['db:10.0.0.5', 'v6:::1']);
    assert.match(h, /^127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/);
    assert.match(h, /\n10\.0\.0\.5\tdb\n::1\tv6\n$/);
  });

  it('resolv.conf: localhost nameservers dropped, defaults when none is left, --dns/--dns-search/--dns-option win', () => {
    const host = '# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n';
    assert.equal(resolvConfContent(host, {}), 'search corp.example\nnameserver 10.0.0.2\noptions edns0\n');
    assert.equal(resolvConfContent('nameserver 127.0.0.1\n', {}), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    assert.equal(resolvConfContent(host, { dns: ['1.1.1.1'], search: ['a.example'], options: ['ndots:2'] }), 'search a.example\nnameserver 1.1.1.1\noptions ndots:2\n');
  });
});

describe('state transitions (container/state.go)', () => {
  it('a start failure before any run stays "created" with the exit code and error', () => {
    const s = startFailedState(CREATED, 'exec: "x": executable file not found in $PATH', 127);
    assert.deepEqual([s.Status, s.ExitCode, s.Running, s.Error], ['created', 127, false, 'exec: "x": executable file not found in $PATH']);
    assert.equal(startFailedState(CREATED, 'other', undefined).ExitCode, 128, "dockerd's exitUnknown");
  });

  it('running → exited keeps the times; restarting counts as running', () => {
    const run = runningState(CREATED, 42);
    assert.deepEqual([run.Status, run.Running, run.Pid, run.Error], ['running', true, 42, '']);
    const exit = { exitCode: 3, oomKilled: false, exitedAt: new Date('2026-01-02T03:04:05.678Z') };
    const stopped = stoppedState(run, exit);
    assert.deepEqual([stopped.Status, stopped.Running, stopped.ExitCode, stopped.Pid, stopped.FinishedAt], ['exited', false, 3, 0, '2026-01-02T03:04:05.678000000Z']);
    assert.equal(stopped.StartedAt, run.StartedAt);
    const restarting = restartingState(run, exit);
    assert.deepEqual([restarting.Status, restarting.Running, restarting.Restarting], ['restarting', true, true]);
  });
});

describe('signals (signal.ParseSignal)', () => {
  it('takes names with or without SIG, any case, and numbers', () => {
    assert.deepEqual(parseSignal('TERM'), { name: 'SIGTERM', number: 15 });
    assert.deepEqual(parseSignal('sigkill'), { name: 'SIGKILL', number: 9 });
    assert.deepEqual(parseSignal('28'), { name: 'SIGWINCH', number: 28 });
    assert.deepEqual(parseSignal('RTMIN+2'), { name: '36', number: 36 });
    assert.throws(() => parseSignal('NOPE'), /Invalid signal: NOPE/);
    assert.throws(() => parseSignal('99'), /Invalid signal: 99/);
  });
});

describe('docker top and docker update rules', () => {
  it('keeps the ps rows of the container\'s pids; the command keeps its spaces', () => {
    const out = 'UID   PID  PPID CMD\nroot    1     0 /sbin/init splash\nroot   42     1 sleep 300\n';
    assert.deepEqual(parsePsOutput(out, [42]), { Titles: ['UID', 'PID', 'PPID', 'CMD'], Processes: [['root', '42', '1', 'sleep 300']] });
    assert.throws(() => parsePsOutput('UID CMD\n', [1]), /Couldn't find PID field in ps output/);
    assert.throws(() => validatePsArgs('-o user= PID'), /specifying "user=PID" is not allowed/);
  });

  it('leaves zero fields alone, refuses Nano CPUs after a CPU period and a policy change under --rm', () => {
    const next = applyUpdate({ Memory: 10, CpuShares: 2, RestartPolicy: { Name: 'no' } } as never, { Memory: 0, CpuShares: 5, RestartPolicy: { Name: 'always' } });
    assert.deepEqual([next.Memory, (next as Record<string, unknown>).CpuShares, next.RestartPolicy?.Name], [10, 5, 'always']);
    assert.throws(() => applyUpdate({ CpuPeriod: 100000 } as never, { NanoCpus: 1e9 }), /Nano CPUs cannot be updated as CPU Period has already been set/);
    assert.throws(() => applyUpdate({ AutoRemove: true } as never, { RestartPolicy: { Name: 'always' } }), /Restart policy cannot be updated because AutoRemove is enabled/);
  });
});

describe('mount points (volume/mounts parser rules)', () => {
  const base = { Config: { Image: 'x' }, HostConfig: {} };
  it('parses -v for volumes and binds, with modes', () => {
    assert.deepEqual(parseBind('data:/d:ro,nocopy'), { Type: 'volume', Name: 'data', Source: '', Destination: '/d', Driver: 'local', RW: false, Mode: '', Propagation: '', CopyData: false });
    assert.deepEqual(parseBind('/h//x:/d/:rshared'), { Type: 'bind', Source: '/h/x', Destination: '/d', RW: true, Mode: 'rshared', Propagation: 'rshared', CopyData: false, CreateSource: true });
    assert.throws(() => parseBind('data:/d:bogus'), /invalid mode: bogus/);
    assert.throws(() => parseBind('data:rel'), /mount path must be absolute/);
    assert.throws(() => parseBind('/h:/'), /destination can't be '\/'/);
  });

  it('refuses a destination used twice; image VOLUMEs fill only free destinations', () => {
    assert.throws(() => planMountPoints({ ...base, HostConfig: { Binds: ['a:/d', 'b:/d'] } }, () => { throw new Error('unused'); }), /Duplicate mount point: \/d/);
    const plan = planMountPoints({ Config: { Image: 'x', Volumes: { '/d': {}, '/e': {} } }, HostConfig: { Binds: ['a:/d'] } }, () => { throw new Error('unused'); });
    assert.deepEqual(plan.map((m) => [m.Destination, m.Name, m.Anonymous === true]), [['/d', 'a', false], ['/e', '', true]]);
  });

  it('follows symlinks inside the rootfs, never out of it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-rootfs-'));
    try {
      await mkdir(join(root, 'real'), { recursive: true });
      await symlink('/real', join(root, 'abs'));
      await symlink('../../../../etc', join(root, 'escape'));
      assert.equal(await resolveInRootfs(root, '/abs/x'), join(root, 'real/x'));
      assert.equal(await resolveInRootfs(root, '/escape/passwd'), join(root, 'etc/passwd'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('output pump and the spool-copy log', () => {
  const dirs: string[] = [];
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('copies spool lines to the log and to subscribers, resumes from an offset, and follows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pump-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, '2026-11-27T19:00:00.000000001Z stdout F one\n2026-11-27T19:00:00.000000002Z stderr F two\n2026-11-27T19:00:00.000000003Z stdout P thr');
    const logger = openSpoolCopy({ containerId: 'c1', dir, config: {} });
    const stdout = new Collect();
    const stderr = new Collect();
    let ended = false;
    const offsets: number[] = [];
    const pump = new OutputPump(spool, 0, { terminal: false, logger, onOffset: (n) => offsets.push(n) });
    pump.subscribe({ stdout, stderr, end: () => { ended = true; } });
    const follow = collect(logger.read({ follow: true }));
    await appendFile(spool, 'ee\n2026-11-27T19:00:01Z stdout F four\n');
    await pump.finish();
    assert.equal(ended, true);
    assert.equal(stdout.text(), 'one\nthreefour\n');
    assert.equal(stderr.text(), 'two\n');
    await logger.close();
    const entries = await follow;
    // A spool line is only read once its newline is there; `P` marks the process's partial line.
    assert.deepEqual(entries.map((e) => `${e.stream}:${e.line}:${e.partial ? 'P' : 'F'}`), ['stdout:one:F', 'stderr:two:F', 'stdout:three:P', 'stdout:four:F']);
    const whole = '2026-11-27T19:00:00.000000001Z stdout F one\n2026-11-27T19:00:00.000000002Z stderr F two\n2026-11-27T19:00:00.000000003Z stdout P three\n2026-11-27T19:00:01Z stdout F four\n';
    assert.equal(offsets.at(-1), Buffer.byteLength(whole), 'the last offset saved is the end of the spool');
    assert.equal((await import('node:fs')).statSync(spool).size, 0, 'finish empties the spool it has logged (the task deletion removes it next)');

    const tail = await collect(logger.read({ tail: 2 }));
    assert.deepEqual(tail.map((e) => e.line.toString()), ['three', 'four']);
    const since = await collect(logger.read({ since: 1795806000000000002n, until: 1795806000000000003n }));
    assert.deepEqual(since.map((e) => e.line.toString()), ['two', 'three']);

    // A reader restarted on the spool (a daemon restart while the task runs) resumes at the saved offset.
    await writeFile(spool, whole);
    const resumed = new Collect();
    const firstTwo = Buffer.byteLength('2026-11-27T19:00:00.000000001Z stdout F one\n2026-11-27T19:00:00.000000002Z stderr F two\n');
    const again = new OutputPump(spool, firstTwo, { terminal: false });
    again.subscribe({ stdout: resumed, end: () => undefined });
    await again.finish();
    assert.equal(resumed.text(), 'threefour\n', 'a restarted reader resumes at the saved offset');
  });

  it('does not log again what the log already holds (a stale offset after a crash)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pump-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, ['1', '2', '2', '3'].map((n, i) => `2026-11-27T19:00:00.00000000${n}Z stdout F l${i}\n`).join(''));
    const logged: string[] = [];
    const logger = { path: '', write: (e: LogEntry) => logged.push(e.line.toString()), flush: async () => undefined, close: async () => undefined, read: () => (async function* () { /* empty */ })() };
    const pump = new OutputPump(spool, 0, { terminal: false, logger, skipLogged: { timeNano: 1795806000000000002n, count: 1 } });
    await pump.finish();
    assert.deepEqual(logged, ['l2', 'l3'], 'l0 is older, l1 is the one entry of that time the log has');
  });

  it('a client that stops reading holds the pump only until it detaches; finish and stop never wait on it', async () => {
    for (const end of ['finish', 'stop'] as const) {
      const dir = await mkdtemp(join(tmpdir(), 'berth-pump-'));
      dirs.push(dir);
      const spool = join(dir, 'output.log');
      await writeFile(spool, '2026-11-27T19:00:00Z stdout F a\n2026-11-27T19:00:00Z stdout F b\n');
      let writing: () => void = () => undefined;
      const reached = new Promise<void>((r) => { writing = r; });
      // An HTTP body nobody reads any more: takes one write, never calls back, never closes.
      const stuck = new Writable({ highWaterMark: 1, write: () => writing() });
      const logged: string[] = [];
      const logger = { path: '', write: (e: LogEntry) => logged.push(e.line.toString()), flush: async () => undefined, close: async () => undefined, read: () => (async function* () { /* empty */ })() };
      const pump = new OutputPump(spool, 0, { terminal: false, logger });
      let ended = false;
      const sub = pump.subscribe({ stdout: stuck, end: () => { ended = true; } });
      await reached;
      if (end === 'finish') sub.remove(); // the client's attach ends (its connection closed)
      const outcome = await Promise.race([
        (end === 'finish' ? pump.finish() : pump.stop()).then(() => 'ended'),
        new Promise((r) => setTimeout(() => r('still blocked'), 10_000).unref()),
      ]);
      assert.equal(outcome, 'ended', end);
      assert.deepEqual(logged, ['a', 'b'], `${end}: the log has every line`);
      assert.equal(ended, end === 'stop', `${end}: a removed subscriber is not ended again`);
    }
  });

  it('sends TTY output to stdout only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pump-'));
    dirs.push(dir);
    const spool = join(dir, 'output.log');
    await writeFile(spool, '2026-11-27T19:00:00Z stdout F a\r\n');
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const pump = new OutputPump(spool, 0, { terminal: true });
    pump.subscribe({ stdout: out, stderr: new PassThrough(), end: () => undefined });
    await pump.finish();
    assert.equal(Buffer.concat(chunks).toString(), 'a\r\n');
  });
});

class Collect extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void { this.chunks.push(c); cb(); }
  text(): string { return Buffer.concat(this.chunks).toString(); }
}

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

export type { ContainerLogger };
