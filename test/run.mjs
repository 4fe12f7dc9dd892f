#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test
// runner. Arguments narrow the run to paths containing them, e.g.
// `node test/run.mjs kernel/ e2e/`.
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testRoot = join(root, 'dist', 'test');

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk(testRoot)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(testRoot, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
// Tests that boot an emulated VM (test/vm/*.test.ts) run last and alone: software emulation slows
// down several-fold when it shares the CPUs with the other tests.
const isVm = (f) => relative(testRoot, f).startsWith(`vm${sep}`);
// berthd's default cgroup parent (/berth) in every hierarchy: tests that start berthd without a parent
// of their own (the container harness gives each daemon one and removes it) leave it, empty, behind.
// Whatever of it the run created is removed at the end; only empty directories go (rmdir), so cgroups
// that hold a process, or that another daemon made before the run, stay.
const CGROUP_ROOT = '/sys/fs/cgroup';
const defaultParents = () => [CGROUP_ROOT, ...(existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT).map((h) => join(CGROUP_ROOT, h)) : [])]
  .map((h) => join(h, 'berth'))
  .filter((p) => existsSync(p));
const parentsBefore = new Set(defaultParents());
function removeEmptyTree(dir) {
  let entries = [];
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) if (e.isDirectory()) removeEmptyTree(join(dir, e.name));
  try { rmdirSync(dir); } catch { /* holds a process or was not ours: stays */ }
}
let status = 0;
for (const batch of [files.filter((f) => !isVm(f)), files.filter(isVm)]) {
  if (batch.length === 0) continue;
  const args = ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...batch];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) status = r.status ?? 1;
}
for (const p of defaultParents()) if (!parentsBefore.has(p)) removeEmptyTree(p);
process.exit(status);
