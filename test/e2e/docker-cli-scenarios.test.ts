import { describe, before, after } from 'node:test';
import { containerE2eSkip as skip } from './containers/daemon-suite.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';
import { containerScenarios } from './containers/scenarios.js';

/**
 * The scenario set of issue 7 (run, logs, exec, stop, cp, commit) with the
 * real CLI on the vfs graph driver (runc). The same set runs on overlay2 with
 * lxc (docker-cli-lxc.test.ts) and on devicemapper in the dm VM
 * (test/vm/devmapper/e2e.vm.ts); btrfs has its own version of it
 * (docker-cli-btrfs.test.ts).
 */
describe('the container scenario set on vfs (runc, the real CLI)', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon({ 'storage-driver': 'vfs' }); });
  after(async () => { await c?.stop(); });
  containerScenarios(() => c, { runtime: 'runc', driver: 'vfs' });
});
