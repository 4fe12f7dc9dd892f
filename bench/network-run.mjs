#!/usr/bin/env node
// The time networking adds to a container: `docker run --rm` on the default
// bridge (sandbox namespace, veth pair, address, route, /etc files) against
// the same run with `--network none`, measured interleaved in the same run
// against one berthd (issue 5's target: under 30 ms added).
//
//   chrt -f 10 node bench/network-run.mjs [--runs N] [--baseline-root DIR]
//
// On a loaded machine single wall times swing by hundreds of ms, so:
// - the arms run interleaved, in a fresh random order every round, and the
//   figure is the median of the per-round differences (bridge − none);
// - the CPU time each run costs berthd (its threads plus the processes it
//   runs and waits for: unshare, ip, iptables-restore …; not conmon and runc,
//   which daemonize) is read from /proc after the daemon settled, which load
//   does not inflate the way it inflates wall time.
// --baseline-root DIR: a second (built) checkout, e.g. main, whose berthd
// runs side by side and is measured in the same rounds, for an A/B figure.
//
// Each daemon runs as the network tests run theirs: its own temp dirs, its
// own iptables chain prefix, default bridge name and address pool, no
// ip_forward change; it is stopped and its dirs removed at the end, and the
// host's ip_forward is put back to the value it had when the bench started.
import { spawnSync } from 'node:child_process';
import { spawnDaemon } from './lib/spawn-daemon.mjs';
import { args, opt, root } from './lib/options.mjs';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const runs = Number(opt('--runs') ?? 30) || 30;
const baselineRoot = opt('--baseline-root') ? resolve(opt('--baseline-root')) : undefined;
const TARGET_MS = 30;
const SETTLE_MS = 150;
const BUSYBOX = '/bin/busybox';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

const base = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
const daemons = [];
// The host's ip_forward as found: put back at the end whatever the daemons (or a bridge
// brought up in a run) did to it, so the bench leaves the host as it was.
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const ipForwardBefore = existsSync(IP_FORWARD) ? readFileSync(IP_FORWARD, 'utf8').trim() : undefined;

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function ping(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** CPU ms of a process and the children it has waited for. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return f.slice(11, 15).map(Number).reduce((a, b) => a + b, 0) * (1000 / CLK_TCK);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => { const s = sorted(xs); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const median = (xs) => quantile(xs, 0.5);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function startDaemon(label, checkout) {
  const dir = join(base, label);
  mkdirSync(dir);
  const tag = randomBytes(3).toString('hex');
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, JSON.stringify({
    'ip-forward': false,
    dns: ['127.0.0.1'],
    'default-address-pools': [{ base: `10.${64 + (randomBytes(1)[0] % 180)}.0.0/16`, size: 24 }],
    berth: { plugins: { 'net-bridge': { chainPrefix: `BB${tag.toUpperCase()}` }, 'network-service': { defaultBridge: `bb${tag}0` } } },
  }));
  const child = spawnDaemon(join(checkout, 'bin/berthd'), ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const d = { label, child, pid: child.pid, bridge: `bb${tag}0`, env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') } };
  daemons.push(d);
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`berthd (${label}) exited with ${child.exitCode}`);
    if (Date.now() - t0 > 120_000) throw new Error(`berthd (${label}) did not start`);
    await sleep(50);
  }
  sh('docker', ['import', join(base, 'rootfs.tar'), 'bench:net'], { env: d.env });
  return d;
}

async function main() {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is needed (Debian: busybox-static)`);
  if (baselineRoot && !existsSync(join(baselineRoot, 'bin/berthd'))) throw new Error(`no bin/berthd in ${baselineRoot}`);
  const rootfs = join(base, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  sh('tar', ['-C', rootfs, '-cf', join(base, 'rootfs.tar'), '.']);

  const subjects = [await startDaemon('this', root)];
  if (baselineRoot) subjects.push(await startDaemon('baseline', baselineRoot));
  const arms = subjects.flatMap((d) => [{ d, kind: 'bridge', argv: ['run', '--rm', 'bench:net', 'true'] }, { d, kind: 'none', argv: ['run', '--rm', '--network', 'none', 'bench:net', 'true'] }]);
  for (const a of arms) { a.wall = []; a.cpu = []; }

  const once = async (a) => {
    const c0 = cpuMs(a.d.pid);
    const s = process.hrtime.bigint();
    sh('docker', a.argv, { env: a.d.env });
    const wall = Number(process.hrtime.bigint() - s) / 1e6;
    // Work the daemon does behind the reply (a lazy unmount, a reaped child) belongs to this run.
    await sleep(SETTLE_MS);
    return { wall, cpu: cpuMs(a.d.pid) - c0 };
  };
  // Warm-up: page cache, the first bridge programming.
  for (const a of arms) await once(a);
  for (let i = 0; i < runs; i++) {
    const order = arms.map((a) => [Math.random(), a]).sort((x, y) => x[0] - y[0]).map((x) => x[1]);
    for (const a of order) {
      const r = await once(a);
      a.wall.push(r.wall);
      a.cpu.push(r.cpu);
    }
  }

  console.log(`runs: ${runs} per arm, interleaved in a random order per round; wall = docker CLI spawn → exit;`);
  console.log(`cpu = berthd and the processes it waited for, per run (mean; ${(1000 / CLK_TCK).toFixed(0)} ms ticks over ${runs} runs), read ${SETTLE_MS} ms after the CLI exits`);
  const figures = {};
  for (const d of subjects) {
    const [b, n] = arms.filter((a) => a.d === d);
    const diffs = b.wall.map((w, i) => w - n.wall[i]);
    const cpuAdded = mean(b.cpu) - mean(n.cpu);
    figures[d.label] = { added: median(diffs), cpuAdded, none: median(n.wall) };
    console.log(`[${d.label}] docker run --rm (default bridge)  wall median ${median(b.wall).toFixed(1)} ms  cpu ${mean(b.cpu).toFixed(1)} ms`);
    console.log(`[${d.label}] docker run --rm --network none    wall median ${median(n.wall).toFixed(1)} ms  cpu ${mean(n.cpu).toFixed(1)} ms`);
    console.log(`[${d.label}] added by the bridge: wall ${median(diffs).toFixed(1)} ms (median of per-round differences; quartiles ${quantile(diffs, 0.25).toFixed(1)} … ${quantile(diffs, 0.75).toFixed(1)}), ratio ${(median(b.wall) / median(n.wall)).toFixed(3)}; cpu ${cpuAdded.toFixed(1)} ms`);
  }
  const me = figures.this;
  console.log(`target: < ${TARGET_MS} ms added: ${me.added < TARGET_MS ? 'met' : 'NOT met'} (wall ${me.added.toFixed(1)} ms, cpu ${me.cpuAdded.toFixed(1)} ms)`);
  if (figures.baseline) {
    const bl = figures.baseline;
    console.log(`against the baseline checkout (same rounds): bridge overhead wall ${me.added.toFixed(1)} vs ${bl.added.toFixed(1)} ms, cpu ${me.cpuAdded.toFixed(1)} vs ${bl.cpuAdded.toFixed(1)} ms (ratio ${(me.cpuAdded / bl.cpuAdded).toFixed(2)})`);
  }
}

async function stop() {
  for (const { child } of daemons) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
  // The default bridge outlives its daemon (as docker0 outlives dockerd): this bench's own go with it.
  for (const { bridge } of daemons) {
    if (existsSync(`/sys/class/net/${bridge}`)) spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  }
  rmSync(base, { recursive: true, force: true });
  if (ipForwardBefore !== undefined && readFileSync(IP_FORWARD, 'utf8').trim() !== ipForwardBefore) {
    writeFileSync(IP_FORWARD, `${ipForwardBefore}\n`);
    console.log(`ip_forward restored to ${ipForwardBefore}`);
  }
}

main().then(stop, async (err) => {
  console.error(err);
  await stop();
  process.exit(1);
});
