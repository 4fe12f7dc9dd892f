#!/usr/bin/env node
// Runtime lxc against runc on one berthd (after `npm run build`): the time of
// `docker run --rm bbox:1 true` and of `docker exec`, interleaved run by run
// so both see the same machine load, and the memory the host spends per
// running container on monitors (RSS of every process between berthd and the
// container's pid 1: conmon, plus lxc-start for lxc). Prints medians and the
// lxc/runc ratio. `--runs N` (default 9). Stops what it started.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startContainerDaemon } from '../dist/test/e2e/containers/harness.js';
import { median } from './lib/stats.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 9;
const c = await startContainerDaemon();
const d = c.d;
const time = (args) => {
  const t0 = process.hrtime.bigint();
  const r = d.docker(args, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const rssKb = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const ppid = (pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
/** RSS of the monitors above a container's pid 1, up to (not including) the first conmon's parent. */
function monitorRss(name) {
  let pid = Number(d.docker(['inspect', '-f', '{{.State.Pid}}', name]).stdout.trim());
  let total = 0;
  for (;;) {
    pid = ppid(pid);
    if (pid <= 1) break;
    total += rssKb(pid);
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon') break;
  }
  return total;
}
try {
  const res = { runc: { run: [], exec: [] }, lxc: { run: [], exec: [] } };
  for (const rt of ['runc', 'lxc']) d.docker(['run', '-d', '--name', `idle-${rt}`, '--runtime', rt, 'bbox:1', 'sleep', '3600']);
  time(['run', '--rm', 'bbox:1', 'true']); // warm-up
  for (let i = 0; i < runs; i++) {
    for (const rt of i % 2 ? ['lxc', 'runc'] : ['runc', 'lxc']) {
      res[rt].run.push(time(['run', '--rm', '--runtime', rt, 'bbox:1', 'true']));
      res[rt].exec.push(time(['exec', `idle-${rt}`, 'true']));
    }
  }
  const mem = { runc: monitorRss('idle-runc'), lxc: monitorRss('idle-lxc') };
  const row = (what, r, l, unit) => console.log(`${what.padEnd(34)} runc ${r.toFixed(0).padStart(6)} ${unit}   lxc ${l.toFixed(0).padStart(6)} ${unit}   lxc/runc ${(l / r).toFixed(2)}`);
  console.log(`${runs} interleaved runs, medians`);
  row('docker run --rm bbox:1 true', median(res.runc.run), median(res.lxc.run), 'ms');
  row('docker exec <running> true', median(res.runc.exec), median(res.lxc.exec), 'ms');
  row('monitor RSS per running container', mem.runc, mem.lxc, 'KiB');
} finally {
  await c.stop();
}
