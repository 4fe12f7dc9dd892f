import { readFile, writeFile } from 'node:fs/promises';
import { SystemError } from '../../kernel/index.js';

/**
 * The container's freezer, written directly — the fallback when lxc-freeze /
 * lxc-unfreeze fail. LXC 5 freezes through the unified hierarchy's
 * `cgroup.freeze` whenever the container has a cgroup there, which on a
 * cgroup "hybrid" host (v1 controllers plus an empty v2 tree) does not freeze
 * anything and fails; runc uses the v1 freezer on such hosts, and so does
 * this. The cgroup is found through the init's /proc/<pid>/cgroup.
 */
export async function setFrozen(pid: number, version: '1' | '2', frozen: boolean): Promise<void> {
  const dir = await freezerDir(pid, version);
  if (!dir) throw new SystemError(`no freezer cgroup for pid ${pid}`);
  if (version === '2') {
    await writeFile(`${dir}/cgroup.freeze`, frozen ? '1' : '0');
    for (let i = 0; i < 500; i++) {
      const events = await readFile(`${dir}/cgroup.events`, 'utf8').catch(() => '');
      if (events.includes(`frozen ${frozen ? 1 : 0}`)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new SystemError(`timed out waiting for the cgroup to ${frozen ? 'freeze' : 'thaw'}`);
  }
  const want = frozen ? 'FROZEN' : 'THAWED';
  for (let i = 0; i < 500; i++) {
    await writeFile(`${dir}/freezer.state`, want);
    const st = (await readFile(`${dir}/freezer.state`, 'utf8')).trim();
    if (st === want) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new SystemError(`timed out waiting for the cgroup to ${frozen ? 'freeze' : 'thaw'}`);
}

/** True when the container's cgroup is frozen (for restore: lxc-info cannot tell on hybrid hosts). */
export async function isFrozen(pid: number, version: '1' | '2'): Promise<boolean> {
  const dir = await freezerDir(pid, version);
  if (!dir) return false;
  if (version === '2') return (await readFile(`${dir}/cgroup.events`, 'utf8').catch(() => '')).includes('frozen 1');
  return (await readFile(`${dir}/freezer.state`, 'utf8').catch(() => '')).trim() === 'FROZEN';
}

async function freezerDir(pid: number, version: '1' | '2'): Promise<string | undefined> {
  for (const line of (await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')).split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (version === '2' && m[1] === '') return `/sys/fs/cgroup${m[2]}`;
    if (version === '1' && m[1]!.split(',').includes('freezer')) return `/sys/fs/cgroup/freezer${m[2]}`;
  }
  return undefined;
}
