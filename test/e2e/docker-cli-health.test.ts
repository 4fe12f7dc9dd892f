import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerAsync, startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

describe('healthchecks with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  const health = (name: string) => c.d.docker(['inspect', '-f', '{{.State.Health.Status}} {{.State.Health.FailingStreak}}', name]).stdout.trim();

  it('a passing probe: starting, then healthy, with a health_status event and "(healthy)" in docker ps', async () => {
    const ev = dockerAsync(c.d, ['events', '--filter', 'container=ok', '--filter', 'event=health_status', '--format', '{{.Action}}']);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.d.docker(['run', '-d', '--name', 'ok', '--health-cmd', 'echo probing; exit 0', '--health-interval', '300ms', 'bbox:1', 'sleep', '300']).status, 0);
    assert.match(c.d.docker(['ps', '--filter', 'name=ok', '--format', '{{.Status}}']).stdout, /\(health: starting\)/);
    await waitFor(() => health('ok') === 'healthy 0', 15_000, 'healthy');
    assert.match(c.d.docker(['ps', '--filter', 'name=ok', '--format', '{{.Status}}']).stdout, /^Up .* \(healthy\)$/m);
    assert.equal(c.d.docker(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']).stdout.trim(), 'ok');
    const log = JSON.parse(c.d.docker(['inspect', '-f', '{{json .State.Health.Log}}', 'ok']).stdout) as Array<{ ExitCode: number; Output: string }>;
    assert.equal(log[0]!.ExitCode, 0);
    assert.equal(log[0]!.Output, 'probing\n');
    await waitFor(() => ev.output().includes('health_status: healthy'));
    ev.kill();
  });

  it('a failing probe turns unhealthy after the retries; a slow one is cut at its timeout', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'bad', '--health-cmd', 'exit 1', '--health-interval', '200ms', '--health-retries', '2', 'bbox:1', 'sleep', '300']).status, 0);
    await waitFor(() => health('bad').startsWith('unhealthy'), 15_000, 'unhealthy');
    assert.match(c.d.docker(['ps', '--filter', 'name=bad', '--format', '{{.Status}}']).stdout, /\(unhealthy\)$/m);
    assert.equal(c.d.docker(['run', '-d', '--name', 'slow', '--health-cmd', 'sleep 5', '--health-timeout', '300ms', '--health-interval', '200ms', '--health-retries', '1', 'bbox:1', 'sleep', '300']).status, 0);
    await waitFor(() => health('slow').startsWith('unhealthy'), 15_000, 'unhealthy by timeout');
    const log = JSON.parse(c.d.docker(['inspect', '-f', '{{json .State.Health.Log}}', 'slow']).stdout) as Array<{ ExitCode: number; Output: string }>;
    assert.deepEqual([log[0]!.ExitCode, log[0]!.Output], [-1, 'Health check exceeded timeout (300ms)']);
  });

  it('no probes while paused; --no-healthcheck has no Health', async () => {
    assert.equal(c.d.docker(['pause', 'ok']).status, 0);
    const count = () => (JSON.parse(c.d.docker(['inspect', '-f', '{{json .State.Health.Log}}', 'ok']).stdout) as unknown[]).length;
    const before = c.d.docker(['inspect', '-f', '{{json .State.Health.Log}}', 'ok']).stdout;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(c.d.docker(['inspect', '-f', '{{json .State.Health.Log}}', 'ok']).stdout, before);
    assert.equal(c.d.docker(['unpause', 'ok']).status, 0);
    assert.ok(count() <= 5, 'five results at most');
    assert.equal(c.d.docker(['run', '-d', '--name', 'plain', 'bbox:1', 'sleep', '300']).status, 0);
    assert.equal(c.d.docker(['inspect', '-f', '{{json .State.Health}}', 'plain']).stdout.trim(), 'null');
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
