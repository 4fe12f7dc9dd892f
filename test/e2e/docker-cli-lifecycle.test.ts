import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerAsync, startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** A shell that exits 42 on SIGTERM and prints what it gets on SIGUSR1. */
const TRAPPER = 'trap "echo got-usr1" USR1; trap "exit 42" TERM; echo ready; while true; do sleep 0.1; done';

describe('container lifecycle with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  const state = (name: string) => c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name]).stdout.trim();

  it('docker stop sends the stop signal and reports the exit; a second stop is a no-op (304)', () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'trap1', 'bbox:1', 'sh', '-c', TRAPPER]).status, 0);
    const t0 = Date.now();
    const r = c.d.docker(['stop', 'trap1']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'trap1');
    assert.ok(Date.now() - t0 < 5000, 'the trap exits at once, no SIGKILL timeout');
    assert.equal(state('trap1'), 'exited 42');
    const again = c.d.docker(['stop', 'trap1']);
    assert.equal(again.status, 0, 'dockerd answers 304 and the CLI prints the name');
    assert.equal(again.stdout.trim(), 'trap1');
  });

  it('docker stop -t kills with SIGKILL when the signal is ignored', () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'stubborn', 'bbox:1', 'sleep', '300']).status, 0);
    const t0 = Date.now();
    assert.equal(c.d.docker(['stop', '-t', '1', 'stubborn']).status, 0);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 8000, `took ${took} ms`);
    assert.equal(state('stubborn'), 'exited 137');
  });

  it('docker kill -s delivers a signal; kill of a stopped container is 409 with dockerd wording', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'sig', 'bbox:1', 'sh', '-c', TRAPPER]).status, 0);
    await waitFor(() => c.d.docker(['logs', 'sig']).stdout.includes('ready'));
    assert.equal(c.d.docker(['kill', '-s', 'USR1', 'sig']).status, 0);
    await waitFor(() => c.d.docker(['logs', 'sig']).stdout.includes('got-usr1'), 10_000, 'USR1 trapped');
    assert.equal(state('sig'), 'running 0');
    assert.equal(c.d.docker(['kill', '-s', 'SIGTERM', 'sig']).status, 0);
    assert.equal(c.d.docker(['wait', 'sig']).stdout.trim(), '42');
    const r = c.d.docker(['kill', 'sig']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Cannot kill container: sig: Container [0-9a-f]{64} is not running/);
    const bad = c.d.docker(['kill', '-s', 'NOPE', 'sig']);
    assert.match(bad.stderr, /Invalid signal: NOPE/);
  });

  it('pauses and unpauses, refusing a second pause with dockerd wording', () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'pz', 'bbox:1', 'sleep', '300']).status, 0);
    assert.equal(c.d.docker(['pause', 'pz']).status, 0);
    assert.equal(state('pz'), 'paused 0');
    assert.match(c.d.docker(['ps', '--filter', 'name=pz', '--format', '{{.Status}}']).stdout, /^Up .* \(Paused\)$/m);
    const twice = c.d.docker(['pause', 'pz']);
    assert.match(twice.stderr, /Container [0-9a-f]{64} is already paused/);
    const exec = c.d.docker(['exec', 'pz', 'true']);
    assert.match(exec.stderr, /is paused, unpause the container before exec/);
    assert.equal(c.d.docker(['unpause', 'pz']).status, 0);
    assert.equal(state('pz'), 'running 0');
    assert.match(c.d.docker(['unpause', 'pz']).stderr, /is not paused/);
    const rm = c.d.docker(['rm', 'pz']);
    assert.match(rm.stderr, /You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
    assert.equal(c.d.docker(['rm', '-f', 'pz']).status, 0);
  });

  it('docker restart stops and starts again, keeping the container', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'rs', 'bbox:1', 'sh', '-c', TRAPPER]).status, 0);
    const pid1 = c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'rs']).stdout.trim();
    assert.equal(c.d.docker(['restart', '-t', '5', 'rs']).status, 0);
    const pid2 = c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'rs']).stdout.trim();
    assert.notEqual(pid1, pid2);
    assert.equal(state('rs'), 'running 0');
    await waitFor(() => c.d.docker(['logs', 'rs']).stdout === 'ready\nready\n', 10_000, 'two runs in the log');
  });

  it('emits the Docker events of a run: create, attach, start, die with exitCode, destroy', async () => {
    // --since replays what happened before the subscription reached the daemon, so no
    // sleep is needed (a fixed wait lost events on a loaded machine); the stream stays live.
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const ev = dockerAsync(c.d, ['events', '--since', since, '--filter', 'type=container', '--filter', 'container=evt', '--format', '{{.Action}} {{.Actor.Attributes.exitCode}}']);
    assert.equal(c.d.docker(['run', '--rm', '--name', 'evt', 'bbox:1', 'sh', '-c', 'exit 4']).status, 4);
    await waitFor(() => ev.output().includes('destroy'));
    ev.kill();
    assert.deepEqual(ev.output().trim().split('\n'), ['create <no value>', 'attach <no value>', 'start <no value>', 'die 4', 'destroy <no value>']);
  });

  it('restart policy on-failure:2 restarts twice with backoff, then stays exited', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'bbox:1', 'sh', '-c', 'echo try; exit 1']).status, 0);
    await waitFor(() => c.d.docker(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'flaky']).stdout.trim() === '2 exited', 15_000, 'two restarts');
    assert.equal(c.d.docker(['logs', 'flaky']).stdout, 'try\ntry\ntry\n');
    assert.equal(state('flaky'), 'exited 1');
  });

  it('restart policy always restarts after an exit, not after docker stop', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'forever', '--restart', 'always', 'bbox:1', 'sh', '-c', 'sleep 0.3']).status, 0);
    await waitFor(() => Number(c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'forever']).stdout.trim()) >= 2, 15_000, 'restarts');
    assert.equal(c.d.docker(['stop', 'forever']).status, 0);
    const count = c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'forever']).stdout.trim();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(c.d.docker(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'forever']).stdout.trim(), `${count} exited`);
  });

  it('docker wait (not-running) returns at once for a created container, the exit code after a run', async () => {
    assert.equal(c.d.docker(['create', '--name', 'nx', 'bbox:1', 'sh', '-c', 'exit 9']).status, 0);
    const w = dockerAsync(c.d, ['container', 'wait', 'nx']);
    assert.equal((await w.done).stdout.trim(), '0');
    assert.equal(c.d.docker(['start', 'nx']).status, 0);
    assert.equal(c.d.docker(['wait', 'nx']).stdout.trim(), '9');
  });

  it('docker top lists the container\'s processes; docker stats reads its cgroup', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'busy', '-m', '64m', 'bbox:1', 'sh', '-c', 'sleep 300 & sleep 301']).status, 0);
    // The shell forks the first sleep and execs the second some time after docker run returns.
    const commands = (out: string) => out.trim().split('\n').slice(1).map((r) => r.replace(/^\d+\s+/, '')).sort();
    await waitFor(() => commands(c.d.docker(['top', 'busy', '-o', 'pid,args']).stdout).join() === 'sleep 300,sleep 301', 15_000, 'both sleeps');
    const top = c.d.docker(['top', 'busy', '-o', 'pid,args']);
    assert.equal(top.status, 0, top.stderr);
    const rows = top.stdout.trim().split('\n');
    assert.match(rows[0]!, /^PID\s+COMMAND$/);
    assert.deepEqual(commands(top.stdout), ['sleep 300', 'sleep 301']);
    const stats = c.d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.MemUsage}}', 'busy']);
    assert.equal(stats.status, 0, stats.stderr);
    assert.match(stats.stdout.trim(), /^busy 2 [\d.]+[KM]iB \/ 64MiB$/);
    const stopped = c.d.docker(['top', 'trap1']);
    assert.match(stopped.stderr, /Container [0-9a-f]{64} is not running/);
  });

  it('stats with stream=0 answers whole, headers with the body, as dockerd (the CLI\'s 2 s timer starts at the headers)', async () => {
    const first = await firstChunk(c.d.socket, '/containers/busy/stats?stream=0');
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
    const body = first.slice(first.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length > 0, `headers were sent before the sample was ready: ${JSON.stringify(first)}`);
    const text = /chunked/i.test(first) ? body.replace(/^[0-9a-f]+\r\n/, '') : body;
    assert.match(text, /^\{"read":"[^"]+","preread":"(?!0001-)/, 'two samples, the first as precpu_stats');
  });

  it('docker update changes resources of a running container and its restart policy', () => {
    const r = c.d.docker(['update', '--memory', '96m', '--memory-swap', '192m', '--pids-limit', '50', '--restart', 'on-failure:3', 'busy']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(c.d.docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'busy']).stdout.trim(), `${96 * 1024 * 1024} 50 on-failure:3`);
    const limit = c.d.docker(['exec', 'busy', 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']).stdout.trim();
    assert.equal(limit, String(96 * 1024 * 1024));
  });

  it('docker export writes the root filesystem as a tar', () => {
    assert.equal(c.d.docker(['exec', 'busy', 'sh', '-c', 'echo exported > /marker']).status, 0);
    const r = spawnSync('sh', ['-c', `docker export busy | tar -xO marker`], { env: { ...process.env, DOCKER_HOST: `unix://${c.d.socket}` }, encoding: 'utf8' });
    assert.equal(r.stdout, 'exported\n', r.stderr);
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});

/** The first chunk a raw GET on the daemon's unix socket receives (headers, and the body if it came with them). */
function firstChunk(socket: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket, () => s.write(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`));
    s.once('data', (d) => { resolve(d.toString('utf8')); s.destroy(); });
    s.once('error', reject);
  });
}
