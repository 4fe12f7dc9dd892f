import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execDriverSuite } from '../../conformance/exec-driver.suite.js';
import { busyboxMissing } from '../../conformance/exec/busybox-rootfs.js';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';
import { LxcDriver } from '../../../plugins/exec-lxc/lxc-driver.js';
import type { LxcTools } from '../../../plugins/exec-lxc/lxc-files.js';
import { installShim } from '../../../plugins/exec-lxc/shim-script.js';

const names: Required<Record<keyof LxcTools, string>> = {
  start: 'lxc-start', attach: 'lxc-attach', info: 'lxc-info', stop: 'lxc-stop', freeze: 'lxc-freeze', unfreeze: 'lxc-unfreeze', cgroup: 'lxc-cgroup', wait: 'lxc-wait',
};
const tools = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, findBinary(n)])) as Partial<LxcTools>;
const conmon = findBinary('conmon');
const missing = busyboxMissing()
  ?? (Object.values(tools).every(Boolean) ? undefined : 'lxc is not installed (scripts/os-packages.txt)')
  ?? (conmon ? undefined : 'conmon is not installed')
  ?? (findBinary('script') ? undefined : 'util-linux script is not installed');

async function open(root: string) {
  const stateDir = join(root, 'state');
  return new LxcDriver({
    stateDir,
    spoolDir: join(root, 'spool'),
    shimPath: await installShim(stateDir),
    conmonPath: conmon!,
    socatPath: findBinary('socat'),
    tools: tools as LxcTools,
  });
}

/** LXC keeps no state of its own for a stopped container; the task directory is exec-lxc's. */
const runtimeStateExists = async (root: string, id: string) => existsSync(join(root, 'state', 'tasks', id));

execDriverSuite('lxc', open, { skip: missing, runtimeStateExists });
