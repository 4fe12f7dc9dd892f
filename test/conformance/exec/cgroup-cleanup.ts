import { readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every directory named `parent` directly under a cgroup hierarchy (v1 controllers, hybrid unified, v2). */
function hierarchies(): string[] {
  const root = '/sys/fs/cgroup';
  const out = [root];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    try {
      if (statSync(p).isDirectory() && !name.includes('.')) out.push(p);
    } catch { /* vanished */ }
  }
  return out;
}

/** Removes a test's cgroup parent in every hierarchy, children first (cgroups are removed with rmdir). */
export function removeCgroupParent(parent: string): void {
  for (const h of hierarchies()) removeTree(join(h, parent.replace(/^\/+/, '')));
}

function removeTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) removeTree(p);
    } catch { /* vanished */ }
  }
  try {
    rmdirSync(dir);
  } catch { /* busy or gone: reported by the test that leaked it */ }
}

/** True if any hierarchy still has the cgroup. */
export function cgroupExists(path: string): boolean {
  return hierarchies().some((h) => {
    try {
      return statSync(join(h, path.replace(/^\/+/, ''))).isDirectory();
    } catch {
      return false;
    }
  });
}
