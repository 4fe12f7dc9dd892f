import { describe, before, after } from 'node:test';
import { findBinary } from '../../plugins/exec-libcontainer/find-binary.js';
import { detectCgroupVersion } from '../../plugins/conmon-task/cgroup-version.js';
import { containerE2eSkip as skip } from './containers/daemon-suite.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';
import { oomKillScenario } from './containers/scenarios.js';

const noLxc = findBinary('lxc-start') ? false : 'lxc is not installed (scripts/os-packages.txt)';

/**
 * OOM kills with the real CLI on runc (conmon watches the cgroup) and on lxc
 * (LXC's stop hook reads the OOM-kill count before LXC removes the cgroup).
 * This host's hierarchy is v1 (hybrid counts as v1); the devicemapper VM runs
 * the lxc case on a pure cgroup v2 (test/vm/devmapper/e2e.vm.ts).
 */
describe(`OOM kill with the real CLI (cgroup v${detectCgroupVersion()})`, { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });
  oomKillScenario(() => c, 'runc');
  oomKillScenario(() => c, 'lxc', { skip: noLxc });
});
