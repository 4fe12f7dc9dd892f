/**
 * The device-mapper tests need a kernel with dm-thin-pool, which the CI
 * machine's kernel may lack: this host-side test boots Debian's kernel under
 * qemu (test/vm/dmvm, vendored from the project's ../shared/dmvm harness)
 * ONCE and runs every test under test/vm/devmapper/ there in one node
 * process (guest-run.sh), then checks the VM's exit code and the reporter's
 * counts. It fails — never skips — when the VM cannot run, unless
 * BERTH_SKIP_VM=1 says to skip it. The first run on a machine downloads the
 * kernel package with apt (cached in /tmp/berth-dmvm/cache).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/berthd-process.js';

const RUNNER = join(REPO_ROOT, 'test', 'vm', 'dmvm', 'run-in-vm.sh');
const skip = process.env.BERTH_SKIP_VM === '1' ? 'BERTH_SKIP_VM=1: the device-mapper VM tests (test/vm/devmapper) are not run' : false;
if (skip) console.log(`# ${skip}`);

/**
 * The guest runs with our exported environment (run-in-vm.sh), minus what
 * makes this process a `node --test` child: with NODE_TEST_CONTEXT set the
 * guest's node would report in the runner's binary protocol, not as text.
 */
function guestEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DMVM_TIMING: '1', DMVM_TIMEOUT: process.env.DMVM_TIMEOUT ?? '3000' };
  for (const k of Object.keys(env)) if (k.startsWith('NODE_TEST')) delete env[k];
  return env;
}

it('devicemapper conformance and docker run, in the dm VM', { skip, timeout: 60 * 60_000 }, async () => {
  assert.ok(existsSync(join(REPO_ROOT, 'dist', 'test', 'vm', 'devmapper', 'all.vm.js')), 'run `npm run build` first');
  const t0 = Date.now();
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('bash', [RUNNER, 'bash test/vm/devmapper/guest-run.sh'], {
      cwd: REPO_ROOT,
      env: guestEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let shown = 0;
    // Echo whole lines as they come, marked as the VM's (the CI log shows progress of the long run).
    const take = (b: Buffer) => {
      text += b;
      const end = text.lastIndexOf('\n') + 1;
      if (end > shown) process.stdout.write(text.slice(shown, end - 1).replace(/^/gm, '# vm: ') + '\n');
      shown = Math.max(shown, end);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out: text }));
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(`# dm VM step: ${secs} s wall, exit ${code}`);
  const count = (k: string) => Number(new RegExp(`^ℹ ${k} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
  assert.equal(code, 0, `the dm VM run failed (exit ${code}; 124 timeout, 125 VM setup, 126 no result)`);
  assert.ok(count('pass') > 20, `tests passed in the VM: ${count('pass')}`);
  assert.equal(count('fail'), 0);
  assert.equal(count('skipped'), 0, 'nothing may skip inside the VM: it has device-mapper');
});
