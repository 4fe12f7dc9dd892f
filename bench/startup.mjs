#!/usr/bin/env node
// Cold start and idle memory of berthd, next to `node -e 0` and (when
// installed) dockerd, measured in the same run on the same machine.
//
//   node bench/startup.mjs [--runs N] [--no-dockerd] [--compare-code-cache] [--compare DIR]
//
// --compare DIR also starts the berthd of another built checkout (DIR/bin/berthd,
// e.g. a clone at an older commit), interleaved run by run with this one: an
// A/B of two builds under the same load.
// --compare-code-cache also starts berthd from the bundle with its code cache
// (bin/launch.cjs, what bin/berthd falls back to without a startup snapshot),
// interleaved run by run with the normal start so both see the same load.
// CPU ms = the daemon's CPU time (all threads, /proc schedstat) when its
// first ping answers: steadier than wall time on a loaded machine.
//
// Cold start = time from spawn until the first `GET /_ping` answers 200 on the
// daemon's unix socket, for an empty data root and for an existing one.
// Idle RSS = VmRSS of the daemon (plus its children for dockerd) 2 s after
// the first successful ping, in each of the first 3 runs. Figures are medians; ratios are against the
// baselines measured here, never against remembered numbers.
import { spawn, spawnSync } from 'node:child_process';
import { spawnDaemon } from './lib/spawn-daemon.mjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const withDockerd = !args.includes('--no-dockerd');
const compareCodeCache = args.includes('--compare-code-cache');
const compareDir = args.includes('--compare') ? args[args.indexOf('--compare') + 1] : undefined;

const ping = (socketPath) => new Promise((resolve) => {
  const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
  req.on('error', () => resolve(false));
  req.on('timeout', () => { req.destroy(); resolve(false); });
  req.end();
});

async function waitForPing(socketPath, child, limitMs = 30_000) {
  const t0 = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
    if (existsSync(socketPath) && (await ping(socketPath))) return;
    if (performance.now() - t0 > limitMs) throw new Error('daemon did not answer /_ping in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** RSS of a process and all its descendants (dockerd starts containerd). */
function treeRssKiB(pid) {
  let total = rssKiB(pid);
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]);
      if (ppid === pid) total += treeRssKiB(Number(p));
    } catch { /* gone */ }
  }
  return total;
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
}

/** CPU time of a process so far, all its threads, in ms (schedstat is in ns). */
function cpuMs(pid) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns / 1e6;
}

/** Runs whose idle RSS is taken (the median is reported): one reading moves by a few MiB with when V8 last collected. */
const RSS_RUNS = 3;

/** Starts each variant in turn, `runs` times (interleaved: A B A B ...), on fresh or reused data roots. */
async function measureDaemons(makeCmds, { reuse }) {
  const bases = makeCmds.map(() => mkdtempSync(join(tmpdir(), 'berth-bench-')));
  const results = makeCmds.map(() => ({ times: [], cpus: [], rss: [] }));
  try {
    for (let i = 0; i < runs; i++) {
      for (const [v, makeCmd] of makeCmds.entries()) {
        const dir = reuse ? bases[v] : mkdtempSync(join(bases[v], 'run-'));
        const { cmd, argv, socket } = makeCmd(dir);
        const t0 = performance.now();
        const child = spawnDaemon(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => { stderr += d; });
        try {
          await waitForPing(socket, child);
        } catch (err) {
          await stop(child);
          throw new Error(`${err.message}\n${stderr}`);
        }
        results[v].times.push(performance.now() - t0);
        results[v].cpus.push(cpuMs(child.pid));
        if (i < RSS_RUNS) {
          await new Promise((r) => setTimeout(r, 2000));
          results[v].rss.push(treeRssKiB(child.pid));
        }
        await stop(child);
      }
    }
  } finally {
    for (const b of bases) rmSync(b, { recursive: true, force: true });
  }
  return results.map((r) => ({ ms: median(r.times), p90: pct(r.times, 0.9), cpuMs: median(r.cpus), rssMiB: median(r.rss) / 1024 }));
}

async function measureDaemon(makeCmd, opts) {
  return (await measureDaemons([makeCmd], opts))[0];
}

function berthd(dir, repo = root) {
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  if (!existsSync(cfg)) writeFileSync(cfg, '{"bridge":"none","iptables":false,"ip-forward":false}\n'); // no host networking: benches may run side by side
  return {
    cmd: join(repo, 'bin/berthd'),
    argv: ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid')],
    socket,
  };
}

/** The berthd of the checkout given with --compare. */
function berthdCompared(dir) {
  return berthd(dir, compareDir);
}

/** berthd as bin/berthd starts it without a startup snapshot: the bundle with its code cache. */
function berthdCodeCache(dir) {
  const b = berthd(dir);
  return { ...b, cmd: process.execPath, argv: [join(root, 'bin/launch.cjs'), ...b.argv] };
}

function dockerd(dir) {
  const socket = join(dir, 'docker.sock');
  const cfg = join(dir, 'dockerd.json');
  if (!existsSync(cfg)) writeFileSync(cfg, '{"iptables":false,"bridge":"none"}\n');
  return {
    cmd: 'unshare',
    argv: ['--net', 'dockerd', '--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid')],
    socket,
  };
}

function nodeBaseline(env = process.env) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { env });
    times.push(performance.now() - t0);
  }
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)']);
  spawnSync('sleep', ['1']);
  const rss = rssKiB(idle.pid) / 1024;
  idle.kill();
  return { ms: median(times), p90: pct(times, 0.9), rssMiB: rss };
}

function median(xs) { return pct(xs, 0.5); }
function pct(xs, p) { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; }
const f = (n) => n.toFixed(1);

const rows = [];
const node = nodeBaseline();
rows.push(['node -e 0 (baseline)', node.ms, node.p90, node.rssMiB]);
let bare;
if (process.env.NODE_EXTRA_CA_CERTS) {
  // bin/berthd defers NODE_EXTRA_CA_CERTS (see its comment): show node without it too.
  const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
  bare = nodeBaseline(env);
  rows.push(['node -e 0 without NODE_EXTRA_CA_CERTS', bare.ms, bare.p90, bare.rssMiB]);
}
// Each variant after the first is shown under its label and compared, same run, with the normal start.
const variants = [
  { cmd: berthd },
  ...(compareCodeCache ? [{ cmd: berthdCodeCache, label: 'code cache (launch.cjs)', vs: 'code-cache start' }] : []),
  ...(compareDir ? [{ cmd: berthdCompared, label: '--compare build', vs: '--compare build start' }] : []),
];
const byRoot = {};
for (const [root, reuse] of [['empty', false], ['existing', true]]) {
  byRoot[root] = await measureDaemons(variants.map((v) => v.cmd), { reuse });
  byRoot[root].forEach((r, i) => rows.push([i === 0 ? `berthd, ${root} data root` : `  ${variants[i].label}, ${root}`, r.ms, r.p90, r.rssMiB, r.cpuMs]));
}
const [empty] = byRoot.empty;
const [existing] = byRoot.existing;
let docker;
if (withDockerd && spawnSync('sh', ['-c', 'command -v dockerd']).status === 0) {
  try {
    docker = await measureDaemon(dockerd, { reuse: false });
    rows.push(['dockerd (+containerd), empty data root', docker.ms, docker.p90, docker.rssMiB, docker.cpuMs]);
  } catch (err) {
    console.error(`dockerd not measured: ${err.message.split('\n')[0]}`);
  }
}

console.log(`runs per row: ${runs}; cold start = spawn → first 200 from GET /_ping`);
console.log(['what'.padEnd(40), 'start ms (median)', 'p90 ms', 'idle RSS MiB', 'CPU ms at ping'].join(' | '));
for (const [name, ms, p90, rss, cpu] of rows) console.log([name.padEnd(40), f(ms).padStart(17), f(p90).padStart(6), f(rss).padStart(12), (cpu === undefined ? '' : f(cpu)).padStart(14)].join(' | '));
console.log(`berthd start / node -e 0: ${f(empty.ms / node.ms)}x (empty), ${f(existing.ms / node.ms)}x (existing)`);
// berthd itself starts node without the CA bundle: this ratio is the honest one when the variable is set.
if (bare) console.log(`berthd start / node -e 0 without NODE_EXTRA_CA_CERTS: ${f(empty.ms / bare.ms)}x (empty), ${f(existing.ms / bare.ms)}x (existing)`);
console.log(`berthd idle RSS / idle node: ${f(empty.rssMiB / node.rssMiB)}x`);
const r2 = (a, b) => (a / b).toFixed(2);
variants.forEach((v, i) => {
  if (i === 0) return;
  const [e, x] = [byRoot.empty[i], byRoot.existing[i]];
  console.log(`berthd start / ${v.vs}, same run: wall ${r2(empty.ms, e.ms)}x (empty), ${r2(existing.ms, x.ms)}x (existing); CPU ${r2(empty.cpuMs, e.cpuMs)}x (empty), ${r2(existing.cpuMs, x.cpuMs)}x (existing)`);
  if (v.cmd === berthdCodeCache) console.log(`code-cache start / node -e 0: ${f(e.ms / (bare ?? node).ms)}x (empty), ${f(x.ms / (bare ?? node).ms)}x (existing)`);
});
if (docker) {
  console.log(`berthd start / dockerd start: ${(empty.ms / docker.ms).toFixed(2)}x; idle RSS berthd / dockerd: ${(empty.rssMiB / docker.rssMiB).toFixed(2)}x`);
}
console.log(`targets: cold start < 150 ms (${empty.ms < 150 && existing.ms < 150 ? 'met' : 'NOT met'}), idle RSS < 60 MiB (${empty.rssMiB < 60 ? 'met' : 'NOT met'})`);
