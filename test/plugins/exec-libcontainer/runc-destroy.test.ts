import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyExited } from '../../../plugins/exec-libcontainer/runc-destroy.js';
import { removeCgroupParent } from '../../conformance/exec/cgroup-cleanup.js';

/** A hierarchy this test may make cgroups in: the v1 pids controller, else the v2 root. */
const hierarchy = existsSync('/sys/fs/cgroup/pids') ? '/sys/fs/cgroup/pids' : '/sys/fs/cgroup';
const parent = `berth-destroy-test-${process.pid}`;
const skip = process.getuid?.() !== 0 ? 'needs root to make cgroups' : undefined;

function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

/**
 * runc's destroy of an exited container, done in-process: it removes the
 * cgroups and the state dir only when runc would do nothing more, and
 * otherwise leaves everything for `runc delete --force`.
 */
describe('runc destroy without runc (runc-destroy.ts)', { skip }, () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-runc-destroy-'));
  });
  after(async () => {
    removeCgroupParent(parent);
    await rm(dir, { recursive: true, force: true });
  });

  function container(opts: { pid: number; start?: number; pidNs?: boolean; poststop?: boolean; child?: boolean }): { stateDir: string; cgroup: string } {
    const id = `c${n++}`;
    const cgroup = join(hierarchy, parent, id);
    mkdirSync(cgroup, { recursive: true });
    if (opts.child) mkdirSync(join(cgroup, 'sub'));
    const stateDir = join(dir, id);
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify({
      id,
      init_process_pid: opts.pid,
      init_process_start: opts.start ?? 1,
      cgroup_paths: { pids: cgroup },
      intel_rdt_path: '',
      config: {
        namespaces: [{ type: 'NEWNS', path: '' }, ...(opts.pidNs === false ? [] : [{ type: 'NEWPID', path: '' }])],
        Hooks: { poststop: opts.poststop ? [{ path: '/bin/true' }] : null },
      },
    }));
    return { stateDir, cgroup };
  }

  it('removes the cgroup (with child cgroups) and the state dir of an exited container', async () => {
    const c = container({ pid: await deadPid(), child: true });
    assert.equal(await destroyExited(c.stateDir), true);
    assert.equal(existsSync(c.cgroup), false);
    assert.equal(existsSync(c.stateDir), false);
  });

  it('leaves a container sharing the host pid namespace to runc (its other processes must be killed first)', async () => {
    const c = container({ pid: await deadPid(), pidNs: false });
    assert.equal(await destroyExited(c.stateDir), false);
    assert.equal(existsSync(c.cgroup), true);
    assert.equal(existsSync(c.stateDir), true);
  });

  it('leaves a container with poststop hooks to runc', async () => {
    const c = container({ pid: await deadPid(), poststop: true });
    assert.equal(await destroyExited(c.stateDir), false);
    assert.equal(existsSync(c.stateDir), true);
  });

  it('does nothing while the init process still runs', async () => {
    const c = container({ pid: process.pid, start: startTime(process.pid) });
    assert.equal(await destroyExited(c.stateDir), false);
    assert.equal(existsSync(c.cgroup), true);
  });

  it('answers false for a cgroup that still has a process, keeping the state dir', async () => {
    const c = container({ pid: await deadPid() });
    const sleeper = spawn('sleep', ['60']);
    try {
      writeFileSync(join(c.cgroup, 'cgroup.procs'), String(sleeper.pid));
      assert.equal(await destroyExited(c.stateDir), false);
      assert.equal(existsSync(c.cgroup), true);
      assert.equal(existsSync(c.stateDir), true);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
  });

  it('answers false without a state file (runc then reports the missing container)', async () => {
    assert.equal(await destroyExited(join(dir, 'nothing-here')), false);
  });
});
