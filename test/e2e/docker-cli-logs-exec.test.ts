import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerCliAvailable, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerAsync, startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;
const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * Runs a docker command on a pseudo-terminal (util-linux `script`), typing
 * each input after a pause. The feeder outlives the command: at its EOF
 * `script` would type ^D into the container.
 */
function dockerOnPty(d: BerthdProcess, cmd: string, ...inputs: string[]): { status: number | null; out: string } {
  const feeder = [...inputs.map((i) => `sleep 0.8; printf '${i}'`), 'sleep 2'].join('; ');
  const r = spawnSync('sh', ['-c', `(${feeder}) | script -qec "stty rows 24 cols 80; ${cmd}" /dev/null`], {
    env: { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, out: r.stdout };
}

describe('docker logs, exec and attach with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => {
    c = await startContainerDaemon();
    const r = c.d.docker(['run', '-d', '--name', 'talker', 'bbox:1', 'sh', '-c', 'i=0; while [ $i -lt 5 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; sleep 300']);
    assert.equal(r.status, 0, r.stderr);
    await waitFor(() => c.d.docker(['logs', 'talker']).stdout.includes('out 4'));
    // One stream, a pause between lines: an order and timestamps the tests can rely on.
    assert.equal(c.d.docker(['run', '-d', '--name', 'counter', 'bbox:1', 'sh', '-c', 'for i in 0 1 2 3 4; do echo line $i; sleep 0.1; done']).status, 0);
    await waitFor(() => c.d.docker(['logs', 'counter']).stdout.includes('line 4'));
  });
  after(async () => { await c?.stop(); });

  it('docker logs keeps stdout and stderr apart', () => {
    const r = c.d.docker(['logs', 'talker']);
    assert.equal(r.stdout, 'out 0\nout 1\nout 2\nout 3\nout 4\n');
    assert.equal(r.stderr, 'err 0\nerr 1\nerr 2\nerr 3\nerr 4\n');
  });

  it('--tail counts entries from the end; -t prefixes RFC 3339 with nine fractional digits', () => {
    assert.equal(c.d.docker(['logs', '--tail', '2', 'counter']).stdout, 'line 3\nline 4\n');
    const ts = c.d.docker(['logs', '-t', '--tail', '1', 'counter']);
    assert.match(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 4\n$/);
    assert.equal(c.d.docker(['logs', '--tail', '0', 'counter']).stdout, '');
  });

  it('--since and --until select by time', () => {
    const all = c.d.docker(['logs', '-t', 'counter']).stdout.trim().split('\n');
    const third = all[2]!.split(' ')[0]!;
    assert.equal(c.d.docker(['logs', '--since', third, 'counter']).stdout, 'line 2\nline 3\nline 4\n');
    assert.equal(c.d.docker(['logs', '--until', third, 'counter']).stdout, 'line 0\nline 1\nline 2\n');
    assert.equal(c.d.docker(['logs', '--until', '2000-01-01T00:00:00Z', 'counter']).stdout, '');
  });

  it('docker logs -f follows new output until the container stops', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'slow', 'bbox:1', 'sh', '-c', 'echo first; sleep 1; echo second; sleep 1; echo third']).status, 0);
    const f = dockerAsync(c.d, ['logs', '-f', 'slow']);
    const r = await f.done;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'first\nsecond\nthird\n');
  });

  it('logs of a TTY container are raw', async () => {
    assert.equal(c.d.docker(['run', '-d', '-t', '--name', 'ttylog', 'bbox:1', 'sh', '-c', 'echo a; echo b >&2']).status, 0);
    await waitFor(() => c.d.docker(['inspect', '-f', '{{.State.Status}}', 'ttylog']).stdout.trim() === 'exited');
    const r = c.d.docker(['logs', 'ttylog']);
    assert.equal(r.stdout, 'a\r\nb\r\n');
    assert.equal(r.stderr, '');
  });

  it('logs go to the json-file driver in dockerd\'s format; --log-driver none keeps none', async () => {
    const logPath = c.d.docker(['inspect', '-f', '{{.LogPath}}', 'counter']).stdout.trim();
    const id = c.d.docker(['inspect', '-f', '{{.Id}}', 'counter']).stdout.trim();
    assert.ok(logPath.endsWith(`/containers/${id}/${id}-json.log`), logPath);
    const first = JSON.parse(readFileSync(logPath, 'utf8').split('\n')[0]!) as Record<string, string>;
    assert.deepEqual(Object.keys(first), ['log', 'stream', 'time']);
    assert.equal(first.log, 'line 0\n');
    assert.equal(first.stream, 'stdout');
    assert.match(first.time!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    const r = c.d.docker(['run', '--log-driver', 'none', '--name', 'nolog', 'bbox:1', 'echo', 'unlogged']);
    assert.equal(r.stdout, 'unlogged\n', 'attached output does not need a log');
    const logs = c.d.docker(['logs', 'nolog']);
    assert.notEqual(logs.status, 0);
    assert.match(logs.stderr, /configured logging driver does not support reading/);
    const bad = c.d.docker(['create', '--log-driver', 'nope', 'bbox:1']);
    assert.match(bad.stderr, /logger: no log driver named 'nope' is registered/);
  });

  it('docker exec returns the exit code and keeps the streams apart', () => {
    const r = c.d.docker(['exec', 'talker', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'to-out\n');
    assert.equal(r.stderr, 'to-err\n');
  });

  it('docker exec -e, -u and -w', () => {
    const r = c.d.docker(['exec', '-e', 'GREETING=hello', '-u', 'nobody', '-w', '/tmp', 'talker', 'sh', '-c', 'echo $GREETING; id -u; pwd']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello\n65534\n/tmp\n');
  });

  it('docker exec of a missing binary exits 127; exec in a stopped container is refused', () => {
    const r = c.d.docker(['exec', 'talker', 'no-such-binary']);
    assert.equal(r.status, 127);
    assert.match(r.stdout + r.stderr, /executable file not found/);
    const stopped = c.d.docker(['exec', 'slow', 'true']);
    assert.notEqual(stopped.status, 0);
    assert.match(stopped.stderr, /Container [0-9a-f]{64} is not running/);
  });

  it('docker exec: /dev/stdout and /dev/stderr open (pipes), 126 for a file that is not executable, exec_create/exec_start/exec_die events', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = c.d.docker(['exec', 'talker', 'sh', '-c', 'echo via-dev-stdout > /dev/stdout; echo via-dev-stderr > /dev/stderr; exit 4']);
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stdout, 'via-dev-stdout\n');
    assert.equal(r.stderr, 'via-dev-stderr\n');
    const denied = c.d.docker(['exec', 'talker', '/etc/passwd']);
    assert.equal(denied.status, 126);
    assert.match(denied.stdout + denied.stderr, /permission denied/);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events = c.d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=talker', '--filter', 'event=exec_create', '--filter', 'event=exec_start', '--filter', 'event=exec_die', '--format', '{{.Action}} {{index .Actor.Attributes "exitCode"}}']);
    assert.equal(events.status, 0, events.stderr);
    const lines = events.stdout.trim().split('\n');
    const cmd = 'sh -c echo via-dev-stdout > /dev/stdout; echo via-dev-stderr > /dev/stderr; exit 4';
    const mine = lines.slice(lines.indexOf(`exec_create: ${cmd} `));
    assert.deepEqual(mine.filter((l) => l.includes('via-dev-stdout') || l.startsWith('exec_die')).slice(0, 3), [`exec_create: ${cmd} `, `exec_start: ${cmd} `, 'exec_die 4']);
  });

  it('docker exec -i feeds stdin; exec -d runs in the background', async () => {
    const r = c.d.docker(['exec', '-i', 'talker', 'sh', '-c', 'cat; echo eof'], { input: 'piped\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'piped\neof\n');
    assert.equal(c.d.docker(['exec', '-d', 'talker', 'sh', '-c', 'echo bg > /tmp/bg-done']).status, 0);
    await waitFor(() => c.d.docker(['exec', 'talker', 'cat', '/tmp/bg-done']).stdout === 'bg\n');
  });

  it('docker exec -it runs on a TTY', { skip: !hasScript && 'util-linux script is not installed' }, () => {
    const r = dockerOnPty(c.d, 'docker exec -it talker sh -c \\"tty; stty size; exit 6\\"');
    assert.equal(r.status, 6, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+\r\n24 80\r\n/);
  });

  it('docker run -it: an interactive shell on a TTY, exit code of the shell', { skip: !hasScript && 'util-linux script is not installed' }, () => {
    const r = dockerOnPty(c.d, 'docker run -it --rm bbox:1 sh', 'echo $((6*7))\\nexit 5\\n');
    assert.equal(r.status, 5, r.out);
    assert.match(r.out, /\r\n42\r\n/);
  });

  it('docker attach and detach with ctrl-p,ctrl-q leave the container running', { skip: !hasScript && 'util-linux script is not installed' }, () => {
    assert.equal(c.d.docker(['run', '-dit', '--name', 'interactive', 'bbox:1', 'sh']).status, 0);
    const r = dockerOnPty(c.d, 'docker attach interactive', 'echo attached-$((1+1))\\n', '\\020\\021');
    assert.match(r.out, /attached-2/);
    assert.match(r.out, /read escape sequence/);
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Status}}', 'interactive']).stdout.trim(), 'running');
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
