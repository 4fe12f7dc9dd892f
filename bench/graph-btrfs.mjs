#!/usr/bin/env node
// Graph-driver figures for btrfs against vfs, both on the same loop-mounted
// btrfs (so only the driver differs), in one run, interleaved: unpacking a
// ~100 MB layer tar (baseline: tar -x), making a container layer on top of it
// (btrfs: a snapshot; vfs: a full copy) and removing it. Needs root,
// btrfs-progs and a build (npm run build). Usage: node bench/graph-btrfs.mjs [--runs N] [--size MB]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median } from './lib/stats.mjs';

const dist = new URL('../dist/', import.meta.url);
const { BtrfsDriver } = await import(new URL('plugins/graph-btrfs/btrfs-driver.js', dist));
const { VfsDriver } = await import(new URL('plugins/graph-vfs/vfs-driver.js', dist));
const { mountLoopBtrfs } = await import(new URL('test/helpers/btrfs-loop.js', dist));

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : dflt; };
const RUNS = arg('runs', 3);
const SIZE_MB = arg('size', 100);

const fs = await mountLoopBtrfs(Math.max(1024, SIZE_MB * 12));
if (typeof fs === 'string') { console.error(`cannot run: ${fs}`); process.exit(1); }
const work = await mkdtemp(join(tmpdir(), 'berth-bench-btrfs-'));
try {
  // The layer: SIZE_MB of random files of mixed sizes in a few hundred dirs.
  const src = join(work, 'src');
  let left = SIZE_MB * 1024 * 1024;
  for (let i = 0; left > 0; i++) {
    const dir = join(src, `d${i % 200}`);
    await mkdir(dir, { recursive: true });
    const n = Math.min(left, 4096 + ((i * 7919) % 200_000));
    await writeFile(join(dir, `f${i}`), randomBytes(n));
    left -= n;
  }
  const tar = join(work, 'layer.tar');
  execFileSync('tar', ['-C', src, '-cf', tar, '.']);
  const t = { tarx: [], btrfs: { apply: [], child: [], remove: [] }, vfs: { apply: [], child: [], remove: [] } };
  const time = async (fn) => { execFileSync('sync'); const t0 = performance.now(); await fn(); return performance.now() - t0; };
  for (let r = 0; r < RUNS; r++) {
    const x = join(fs.mnt, `tarx-${r}`);
    await mkdir(x);
    t.tarx.push(await time(() => execFileSync('tar', ['-C', x, '-xf', tar])));
    await rm(x, { recursive: true, force: true });
    const drivers = [['btrfs', (root) => BtrfsDriver.open(root)], ['vfs', (root) => VfsDriver.open(root)]];
    if (r % 2 === 1) drivers.reverse(); // interleaved: neither always goes first
    for (const [name, open] of drivers) {
      const d = await open(join(fs.mnt, `${name}-${r}`));
      await d.create('base', null);
      t[name].apply.push(await time(() => d.applyDiff('base', null, createReadStream(tar))));
      t[name].child.push(await time(() => d.createReadWrite('ctr', 'base')));
      t[name].remove.push(await time(() => d.remove('ctr')));
      await d.remove('base');
      await d.dispose();
    }
  }
  const ms = (v) => `${v.toFixed(1)} ms`;
  const base = median(t.tarx);
  console.log(`layer: ${SIZE_MB} MB, ${RUNS} runs, medians; tar -x baseline ${ms(base)}`);
  for (const name of ['btrfs', 'vfs']) {
    const a = median(t[name].apply), c = median(t[name].child), rm_ = median(t[name].remove);
    console.log(`${name.padEnd(5)} applyDiff ${ms(a)} (${(a / base).toFixed(2)}x tar -x)  container layer ${ms(c)}  remove ${ms(rm_)}`);
  }
  const cb = median(t.btrfs.child), cv = median(t.vfs.child);
  console.log(`container layer on a ${SIZE_MB} MB image: btrfs snapshot is ${(cv / cb).toFixed(0)}x faster than the vfs copy`);
} finally {
  await rm(work, { recursive: true, force: true });
  await fs.cleanup();
}
