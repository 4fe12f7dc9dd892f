import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type ContainerDaemon } from './harness.js';

export interface ScenarioOptions {
  /** Extra `docker run` arguments that pick the runtime (`--runtime lxc`), or none for the default. */
  runtimeArgs?: string[];
  /** The runtime the containers must record (HostConfig.Runtime). */
  runtime: string;
  /** The graph driver the containers must be on (`docker inspect .Driver`), when the suite pins one. */
  driver?: string;
  /**
   * Only what differs between graph drivers: leaves out the runtime checks
   * (missing command → 127, exec -u/-w and exit codes, top, pause) where a
   * container costs seconds (the emulated devicemapper VM).
   */
  lean?: boolean;
}

function ok(r: { status: number | null; stdout: string; stderr: string }, what = ''): string {
  assert.equal(r.status, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * The scenario set of issue 7 — run, logs, exec, stop, cp, commit with the
 * real docker CLI — as `it` blocks, for one graph driver and one runtime.
 * Each suite that runs it (test/e2e/docker-cli-scenarios.test.ts for vfs,
 * docker-cli-lxc.test.ts for lxc on overlay2, test/vm/devmapper/e2e.vm.ts
 * for devicemapper) gives a daemon with `bbox:1` and no containers named
 * once, svc, files or tocommit.
 */
export function containerScenarios(get: () => ContainerDaemon, o: ScenarioOptions): void {
  const d = () => get().d;
  const args = o.runtimeArgs ?? [];

  it('run: output, exit code, the runtime and graph driver recorded on the container', () => {
    const r = d().docker(['run', '--name', 'once', ...args, 'bbox:1', 'sh', '-c', 'echo out; echo err >&2; hostname; exit 3']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, `out\n${ok(d().docker(['inspect', '-f', '{{.Config.Hostname}}', 'once']))}`);
    assert.equal(r.stderr, 'err\n');
    assert.equal(ok(d().docker(['inspect', '-f', '{{.HostConfig.Runtime}} {{.State.ExitCode}}', 'once'])).trim(), `${o.runtime} 3`);
    if (o.driver) assert.equal(ok(d().docker(['inspect', '-f', '{{.Driver}} {{.GraphDriver.Name}}', 'once'])).trim(), `${o.driver} ${o.driver}`);
    if (!o.lean) assert.equal(d().docker(['run', '--rm', ...args, 'bbox:1', 'no-such-binary']).status, 127);
  });

  it(o.lean ? 'logs, exec (env, workdir), stop, as dockerd' : 'logs, exec (env, user, workdir), stop, as dockerd', async () => {
    ok(d().docker(['run', '-d', '--name', 'svc', ...args, '-e', 'FOO=bar', '-w', '/tmp', 'bbox:1', 'sh', '-c', 'echo up; echo warn >&2; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done']), 'run -d');
    await waitFor(() => d().docker(['logs', 'svc']).stdout.includes('up'));
    const logs = d().docker(['logs', 'svc']);
    assert.equal(logs.stdout, 'up\n');
    assert.equal(logs.stderr, 'warn\n');
    assert.equal(ok(d().docker(['exec', 'svc', 'sh', '-c', 'echo $FOO; pwd; id -u'])), 'bar\n/tmp\n0\n');
    if (!o.lean) {
      assert.equal(ok(d().docker(['exec', '-u', '1000', '-w', '/', 'svc', 'id', '-u'])), '1000\n');
      assert.equal(d().docker(['exec', 'svc', 'sh', '-c', 'exit 4']).status, 4);
      assert.match(ok(d().docker(['top', 'svc'])), /sleep|sh -c/);
      ok(d().docker(['pause', 'svc']));
      assert.equal(ok(d().docker(['inspect', '-f', '{{.State.Status}}', 'svc'])).trim(), 'paused');
      ok(d().docker(['unpause', 'svc']));
    }
    ok(d().docker(['stop', 'svc']));
    assert.equal(ok(d().docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'svc'])).trim(), 'exited 0');
    assert.equal(d().docker(['logs', 'svc']).stdout, 'up\nbye\n');
  });

  it('cp both ways', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-scenario-cp-'));
    try {
      ok(d().docker(['run', '-d', '--name', 'files', ...args, 'bbox:1', 'sh', '-c', 'echo inside > /made.txt; sleep 300']));
      await waitFor(() => d().docker(['exec', 'files', 'cat', '/made.txt']).stdout === 'inside\n');
      await writeFile(join(dir, 'in.txt'), 'from host\n');
      ok(d().docker(['cp', join(dir, 'in.txt'), 'files:/tmp/in.txt']));
      assert.equal(ok(d().docker(['exec', 'files', 'cat', '/tmp/in.txt'])), 'from host\n');
      ok(d().docker(['cp', 'files:/made.txt', join(dir, 'out.txt')]));
      assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'inside\n');
      ok(d().docker(['rm', '-f', 'files']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('commit: a running container (paused for the commit) becomes an image that runs with its change', async () => {
    ok(d().docker(['run', '-d', '--name', 'tocommit', ...args, 'bbox:1', 'sh', '-c', 'echo committed > /marker; sleep 300']));
    await waitFor(() => d().docker(['exec', 'tocommit', 'cat', '/marker']).stdout === 'committed\n');
    const id = ok(d().docker(['commit', '-c', 'ENV FROM_COMMIT=yes', 'tocommit', 'bbox-commit:1'])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(ok(d().docker(['inspect', '-f', '{{.State.Status}}', 'tocommit'])).trim(), 'running', 'unpaused after the commit');
    assert.equal(ok(d().docker(['run', '--rm', ...args, 'bbox-commit:1', 'sh', '-c', 'cat /marker; echo $FROM_COMMIT'])), 'committed\nyes\n');
    ok(d().docker(['rm', '-f', 'tocommit']));
    ok(d().docker(['rmi', 'bbox-commit:1']));
  });

  it('leaves no monitor, task state or cgroup behind', () => {
    get().removeAll();
    assert.deepEqual(get().leftovers(), []);
  });
}

/**
 * A container the kernel's OOM killer ends: `docker run` exits 137 and
 * `docker inspect` says OOMKilled, as dockerd reports it. busybox dd with a
 * 64 MiB block fills its buffer from /dev/zero: the 16 MiB limit (no swap:
 * --memory-swap equal) leaves the OOM killer no other way out. A container
 * with the same limit that exits 137 by itself stays OOMKilled=false.
 */
export function oomKillScenario(get: () => ContainerDaemon, runtime: string, opts: { skip?: string | false } = {}): void {
  const d = () => get().d;
  const limit = ['--memory', '16m', '--memory-swap', '16m'];
  const inspect = (name: string) => d().docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}', name]).stdout.trim();
  it(`${runtime}: the OOM-killed container exits 137 with State.OOMKilled=true; a normal exit 137 stays false`, { skip: opts.skip }, () => {
    const r = d().docker(['run', '--name', `oom-${runtime}`, '--runtime', runtime, ...limit, 'bbox:1', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1']);
    assert.equal(r.status, 137, `docker run: ${r.stdout}${r.stderr}`);
    assert.equal(inspect(`oom-${runtime}`), 'true 137 exited');
    const fine = d().docker(['run', '--name', `fine-${runtime}`, '--runtime', runtime, ...limit, 'bbox:1', 'sh', '-c', 'exit 137']);
    assert.equal(fine.status, 137, fine.stderr);
    assert.equal(inspect(`fine-${runtime}`), 'false 137 exited');
    ok(d().docker(['rm', `oom-${runtime}`, `fine-${runtime}`]));
  });
}
