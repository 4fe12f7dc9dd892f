import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { findBinary } from '../../plugins/exec-libcontainer/find-binary.js';
import { detectCgroupVersion } from '../../plugins/exec-libcontainer/libcontainer-driver.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !busyboxAvailable ? 'busybox-static is not installed'
  : process.getuid?.() !== 0 ? 'needs root'
  : false;
const noLxc = findBinary('lxc-start') ? false : 'lxc is not installed (scripts/os-packages.txt)';

/**
 * A container the kernel's OOM killer ends: `docker run` exits 137 and
 * `docker inspect` says OOMKilled, as dockerd reports it — on runc (conmon
 * watches the cgroup) and on lxc (LXC's stop hook reads the OOM-kill count
 * before LXC removes the cgroup). busybox dd with a 64 MiB block fills its
 * buffer from /dev/zero: the 16 MiB limit (no swap: --memory-swap equal)
 * leaves the OOM killer no other way out.
 */
describe(`OOM kill with the real CLI (cgroup v${detectCgroupVersion()})`, { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  const hog = ['--memory', '16m', '--memory-swap', '16m', 'bbox:1', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'];
  const inspect = (name: string) => c.d.docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}', name]).stdout.trim();

  for (const runtime of ['runc', 'lxc']) {
    it(`${runtime}: the OOM-killed container exits 137 with State.OOMKilled=true; a normal exit stays false`, { skip: runtime === 'lxc' && noLxc }, () => {
      const r = c.d.docker(['run', '--name', `oom-${runtime}`, '--runtime', runtime, ...hog], { timeoutMs: 120_000 });
      assert.equal(r.status, 137, `docker run: ${r.stdout}${r.stderr}`);
      assert.equal(inspect(`oom-${runtime}`), 'true 137 exited');
      // The same limit and exit code without an OOM kill: OOMKilled comes from the kernel's count, not from 137.
      const fine = c.d.docker(['run', '--name', `fine-${runtime}`, '--runtime', runtime, '--memory', '16m', '--memory-swap', '16m', 'bbox:1', 'sh', '-c', 'exit 137']);
      assert.equal(fine.status, 137, fine.stderr);
      assert.equal(inspect(`fine-${runtime}`), 'false 137 exited');
    });
  }
});
