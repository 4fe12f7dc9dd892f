import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';
import { launchMonitor } from '../../../plugins/exec-libcontainer/conmon-monitor.js';
import { waitForExit } from '../../../plugins/exec-libcontainer/exit-watch.js';
import { installShim } from '../../../plugins/exec-lxc/shim-script.js';

const conmon = findBinary('conmon');
const skip = !conmon ? 'conmon is not installed' : false;

/**
 * The shim as conmon's runtime for `docker exec`: conmon adopts the script the
 * shim starts and records its exit status. The shim's shell must never reap
 * that script itself: an exec that ended while the shim still waited for one
 * of its own commands was lost to conmon, which then recorded -1 (docker exec
 * exited 255). Slow stand-ins for the tools a shell script might call, first
 * on PATH, hold the shim long enough for the exec to end first, every time.
 */
describe('exec-lxc shim under conmon', { skip }, () => {
  let root = '';
  let shim = '';
  let slowBin = '';
  const savedPath = process.env.PATH;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-lxc-shim-'));
    shim = await installShim(join(root, 'state'));
    slowBin = join(root, 'slow-bin');
    await mkdir(slowBin);
    for (const tool of ['mv', 'cat', 'cp', 'ln', 'rm', 'sleep', 'echo', 'printf', 'test', 'perl']) {
      const real = findBinary(tool);
      if (!real) continue;
      await writeFile(join(slowBin, tool), `#!/bin/sh\n/bin/sleep 0.5\nexec ${real} "$@"\n`);
      await chmod(join(slowBin, tool), 0o755);
    }
    process.env.PATH = `${slowBin}:${savedPath}`;
  });
  after(async () => {
    process.env.PATH = savedPath;
    await rm(root, { recursive: true, force: true });
  });

  // Several rounds: without slow tools the shell still reaped now and then (on SIGCHLD).
  const rounds = Array.from({ length: 6 }, (_, i) => i);
  for (const code of [0, 3]) {
    it(`an exec that ends at once (exit ${code}) is reaped by conmon: its exit file says ${code}`, async () => {
      for (const round of rounds) await quickExec(code, round);
    });
  }

  async function quickExec(code: number, round: number): Promise<void> {
    const dir = join(root, `exec-${code}-${round}`);
    await mkdir(join(dir, 'exit'), { recursive: true });
    const script = join(dir, 'exec.sh');
    await writeFile(script, `exit ${code}\n`);
    const started = await launchMonitor({
      conmonPath: conmon!,
      runtimePath: shim,
      runtimeArgs: [],
      containerId: `shimtest${code}`,
      sessionId: `shimexec${code}x${round}`,
      dir,
      pidFile: join(dir, 'pid'),
      conmonPidFile: join(dir, 'conmon.pid'),
      logPath: join(dir, 'output.log'),
      exitDir: join(dir, 'exit'),
      terminal: false,
      stdin: false,
      leaveStdinOpen: false,
      execProcessSpec: script,
    });
    assert.ok(started.pid > 0);
    const exit = await waitForExit(join(dir, 'exit', `shimtest${code}`), { monitorPid: started.monitorPid, pollMs: 200 });
    assert.equal(exit.exitCode, code, `round ${round}`);
  }
});
