import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** Prints a numbered tick twice a second. */
const TICKER = 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.5; done';

describe('containers across a berthd restart with live-restore', { skip }, () => {
  let c: ContainerDaemon;
  after(async () => { await c?.stop(); });

  it('keeps the container running through SIGTERM and kill -9 of berthd; output made meanwhile is logged', async () => {
    c = await startContainerDaemon({ 'live-restore': true });
    const run = c.d.docker(['run', '-d', '--name', 'ticker', 'bbox:1', 'sh', '-c', TICKER]);
    assert.equal(run.status, 0, run.stderr);
    const pid = c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'ticker']).stdout.trim();
    await waitFor(() => c.d.docker(['logs', 'ticker']).stdout.includes('tick 1'));

    await c.d.restart();
    assert.match(c.d.docker(['ps', '--format', '{{.Names}} {{.Status}}']).stdout, /^ticker Up /m);
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'ticker']).stdout.trim(), pid, 'the same process');

    await c.d.restart({ kill: true });
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', 'ticker']).stdout.trim(), `running ${pid}`);
    await waitFor(() => c.d.docker(['logs', '--tail', '1', 'ticker']).stdout !== '', 5000);
    const lines = c.d.docker(['logs', 'ticker']).stdout.trim().split('\n');
    const numbers = lines.map((l) => Number(l.split(' ')[1]));
    assert.deepEqual(numbers, numbers.map((_, i) => i), `every tick logged once, in order: ${lines.join('|')}`);

    const exec = c.d.docker(['exec', 'ticker', 'echo', 'still here']);
    assert.equal(exec.stdout, 'still here\n');
    assert.equal(c.d.docker(['stop', '-t', '1', 'ticker']).status, 0);
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'ticker']).stdout.trim(), 'exited 137');
  });

  it('records an exit that happened while berthd was down', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'brief', 'bbox:1', 'sh', '-c', 'sleep 2; echo done; exit 5']).status, 0);
    c.d.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    await c.d.restart();
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'brief']).stdout.trim(), 'exited 5');
    assert.equal(c.d.docker(['logs', 'brief']).stdout, 'done\n');
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});

describe('containers across a berthd restart without live-restore', { skip }, () => {
  let c: ContainerDaemon;
  after(async () => { await c?.stop(); });

  it('stops running containers on shutdown and restarts `always` ones on start, as dockerd', async () => {
    c = await startContainerDaemon();
    assert.equal(c.d.docker(['run', '-d', '--name', 'plain', 'bbox:1', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']).status, 0);
    assert.equal(c.d.docker(['run', '-d', '--name', 'always', '--restart', 'always', 'bbox:1', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done']).status, 0);
    assert.equal(c.d.docker(['run', '-d', '--name', 'manual', '--restart', 'unless-stopped', 'bbox:1', 'sleep', '300']).status, 0);
    assert.equal(c.d.docker(['stop', '-t', '1', 'manual']).status, 0);
    await c.d.restart();
    const status = (n: string) => c.d.docker(['inspect', '-f', '{{.State.Status}}', n]).stdout.trim();
    assert.equal(status('plain'), 'exited');
    await waitFor(() => status('always') === 'running', 10_000, 'the always container back up');
    assert.equal(status('manual'), 'exited', 'unless-stopped stays stopped when stopped by hand');
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
