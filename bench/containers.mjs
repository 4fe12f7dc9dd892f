#!/usr/bin/env node
// Containers, side by side in one run on one machine: berthd, plain runc,
// and (when installed) dockerd as the baseline.
//
//   node bench/containers.mjs [--runs N] [--no-dockerd] [--cpu-prof DIR] [--only list,output] [--compare DIR]
//
// Measured for each daemon, against a fresh instance on its own temp dirs
// (dockerd in its own network namespace, no iptables, no bridge, stopped by
// PID), with a busybox image imported from the same tar:
//   run       `docker run --rm <busybox> true`, CLI spawn → exit (median of N);
//             next to `runc run` of two bundles of the same rootfs running `true`:
//             runc's own default spec (`runc spec`), and the spec berthd wrote
//             for a container of that image (dockerd's defaults: seccomp
//             profile, capabilities, masked paths, /dev/shm, the /etc binds) —
//             the runtime's floor for an equivalent container
//   exec      `docker exec c true` into a running container (median of N); for
//             berthd in the same rounds, interleaved: bare `runc exec` into the
//             same container (the runtime's own floor), `docker exec` into a
//             crun container and bare `crun exec` into it (when crun is
//             installed; on a cgroup hybrid host, which crun refuses, that
//             berthd runs in a private mount namespace without the v2 mount),
//             and with --compare DIR a berthd built in another checkout (A/B)
//   lifecycle create → start → wait → rm through the Engine API, 8 workers
//             (containers per second over 40); with --compare DIR, this build
//             and DIR's in alternating rounds (--lifecycle-rounds N), each in
//             its own cpuacct cgroup: rate and CPU per container of all
//             processes (berthd main thread, its other threads, the rest)
//   list      GET /containers/json?all=1 with 100 containers, 16 concurrent
//             clients for 3 s (requests per second)
//   output    50 MB of container output through `docker run` (attached) and
//             through `docker logs` of the same container (MB/s)
//   rss       the daemon plus every helper (conmon; containerd and shims for
//             dockerd) with 0 and 20 running containers (MiB per container)
// With list and output, the daemon's own CPU time (all threads, from
// /proc/<pid>/task/*/schedstat) is printed too: on a loaded machine it says
// more than the wall-clock rates. (dockerd's containerd and shims are not in it.)
// --only runs just the named sections (run, exec, lifecycle, list, output, rss),
// to iterate on one of them; the full run is the default.
// With --compare DIR, run, exec and list also measure DIR's berthd, interleaved in the same rounds
// (run: this berthd, DIR's and bare `runc run` take turns in every round).
// Each figure is printed with its target from issue 4 and its ratio to the
// dockerd figure measured here. Run it on a quiet machine: the load average
// is printed first. Everything started is stopped by PID and every temp dir
// removed, whatever happens.
import { spawn, spawnSync } from 'node:child_process';
import { normalPolicy, spawnDaemon, stopDaemons } from './lib/spawn-daemon.mjs';
import { args, opt, root } from './lib/options.mjs';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { median } from './lib/stats.mjs';

const runs = Number(opt('--runs', 10)) || 10;
const withDockerd = !args.includes('--no-dockerd') && spawnSync('sh', ['-c', 'command -v dockerd']).status === 0;
const cpuProfDir = opt('--cpu-prof', null) === null ? null : resolve(opt('--cpu-prof'));
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
const SECTIONS = ['run', 'exec', 'lifecycle', 'list', 'output', 'rss'];
const only = opt('--only', null) === null ? SECTIONS : opt('--only').split(',').map((s) => s.trim()).filter(Boolean);
for (const s of only) if (!SECTIONS.includes(s)) { console.error(`--only: unknown section ${s} (sections: ${SECTIONS.join(', ')})`); process.exit(2); }
const wants = (s) => only.includes(s);
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'true', 'sleep', 'cat', 'echo', 'yes', 'head', 'ls'];
const IMAGE = 'bbox:bench';
const OUTPUT_BYTES = 50 * 1024 * 1024;

const base = mkdtempSync(join(tmpdir(), 'berth-bench-containers-'));
const started = []; // { pid, name } of daemons to stop on the way out

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

const ms = (fn) => { const t0 = performance.now(); fn(); return performance.now() - t0; };

// --- the rootfs, as a tar for the daemons and a bundle for runc ---------------------

function makeRootfs() {
  const rootfs = join(base, 'bundle', 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'));
  sh('chmod', ['0755', join(rootfs, 'bin/busybox')]);
  for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
  const tar = join(base, 'rootfs.tar');
  sh('tar', ['-C', rootfs, '--numeric-owner', '-cf', tar, 'bin', 'etc', 'tmp']);
  // runc's default spec, made non-interactive and running `true` (an equivalent of `docker run --rm busybox true`).
  sh('runc', ['spec', '--bundle', join(base, 'bundle')]);
  const specPath = join(base, 'bundle', 'config.json');
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  spec.root.readonly = false;
  writeFileSync(specPath, JSON.stringify(spec));
  return tar;
}

/**
 * A bundle with the OCI spec berthd generated for a container of the bench
 * image (taken from a running container's task, then removed), pointed at
 * the bench rootfs and running `true`; the per-container files it binds
 * (/etc/hosts, hostname, resolv.conf) are copied next to it. bare `runc run`
 * of it is what the runtime alone pays for the container `docker run` makes.
 */
function makeDaemonSpecBundle(d) {
  const docker = cli(d);
  const id = docker(['run', '-d', IMAGE, 'sleep', '1000']).trim();
  const dir = join(base, 'bundle-daemon-spec');
  mkdirSync(join(dir, 'files'), { recursive: true });
  try {
    const spec = JSON.parse(readFileSync(join(d.dir, 'exec', 'exec-libcontainer', 'tasks', id, 'config.json'), 'utf8'));
    spec.process.args = ['true'];
    spec.root = { path: join(base, 'bundle', 'rootfs'), readonly: false };
    for (const m of spec.mounts) {
      if (m.type !== 'bind' || !m.source.includes(id)) continue;
      const copy = join(dir, 'files', basename(m.source));
      copyFileSync(m.source, copy);
      m.source = copy;
    }
    spec.linux.cgroupsPath = `/berth-bench-${process.pid}/bare-runc-spec`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  } finally {
    docker(['rm', '-f', id]);
  }
  return dir;
}

// --- daemons ------------------------------------------------------------------------

function ping(socketPath) {
  return new Promise((r) => {
    const req = request({ socketPath, path: '/_ping', agent: false }, (res) => { res.resume(); r(res.statusCode === 200); });
    req.on('error', () => r(false));
    req.end();
  });
}

async function waitReady(socket, isAlive, what) {
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (!isAlive()) throw new Error(`${what} exited before answering /_ping`);
    if (Date.now() - t0 > 60_000) throw new Error(`${what} did not answer /_ping`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A berthd on its own temp dirs; `o.root` another checkout's build, `o.config` more daemon.json, `o.wrap` a command it runs under. */
async function startBerthd(o = {}) {
  const dir = mkdtempSync(join(base, 'berthd-'));
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  // No host networking (default bridge, iptables chains, ip_forward): benches and tests run side by side.
  writeFileSync(cfg, JSON.stringify({ 'cgroup-parent': `/berth-bench-${process.pid}`, bridge: 'none', iptables: false, 'ip-forward': false, ...o.config }));
  const argv = ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid')];
  const [cmd, cmdArgs] = cpuProfDir === null
    ? [join(o.root ?? root, 'bin/berthd'), argv]
    : [process.execPath, ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, join(o.root ?? root, 'bin/launch.cjs'), ...argv]];
  const child = o.wrap ? spawnDaemon(o.wrap[0], [...o.wrap.slice(1), cmd, ...cmdArgs], { stdio: ['ignore', 'ignore', 'inherit'] }) : spawnDaemon(cmd, cmdArgs, { stdio: ['ignore', 'ignore', 'inherit'] });
  const entry = { pid: child.pid, name: 'berthd', exited: new Promise((r) => child.once('exit', r)) };
  started.push(entry);
  await waitReady(socket, () => child.exitCode === null, 'berthd');
  return { name: 'berthd', dir, socket, pid: child.pid, helpers: (p) => p.cmd.includes(dir) && p.pid !== child.pid };
}

async function startDockerd() {
  const dir = mkdtempSync(join(base, 'dockerd-'));
  const socket = join(dir, 'docker.sock');
  const pidfile = join(dir, 'dockerd.pid');
  // Its own network namespace: no bridge or iptables rules on the host, nothing it can clash with.
  const child = spawnDaemon('unshare', ['--net', '--fork', 'dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${socket}`,
    '--pidfile', pidfile, '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', 'overlay2', '--cgroup-parent', `/dockerd-bench-${process.pid}`],
  { stdio: ['ignore', 'ignore', 'ignore'] });
  const entry = { pid: child.pid, name: 'dockerd', pidfile, exited: new Promise((r) => child.once('exit', r)) };
  started.push(entry);
  await waitReady(socket, () => child.exitCode === null, 'dockerd');
  const pid = Number(readFileSync(pidfile, 'utf8'));
  entry.pid = pid;
  return { name: 'dockerd', dir, socket, pid, helpers: (p) => p.cmd.includes(dir) && p.pid !== pid };
}

function cli(d) {
  const env = { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') };
  return (argv, opts = {}) => sh('docker', argv, { env, ...opts });
}

// --- the Engine API -----------------------------------------------------------------

function api(socket, agent, method, path, body) {
  return new Promise((resolvePromise, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({ socketPath: socket, agent, method, path, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolvePromise(text ? JSON.parse(text) : undefined);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

// --- processes and memory -----------------------------------------------------------

function processes() {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0);
      out.push({ pid: Number(p), ppid, cmd, rssKiB: rss });
    } catch { /* gone */ }
  }
  return out;
}

/** RSS of the daemon, its descendants, and helpers that name its dirs (conmon, shims) — not the containers' own processes. */
function daemonRssMiB(d, containerPids) {
  const all = processes();
  const keep = new Set([d.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) if (!keep.has(p.pid) && keep.has(p.ppid) && !containerPids.has(p.pid)) { keep.add(p.pid); grew = true; }
  }
  for (const p of all) if (d.helpers(p) && !containerPids.has(p.pid)) keep.add(p.pid);
  // A container's processes are children of its monitor: leave them out.
  let kib = 0;
  for (const p of all) if (keep.has(p.pid) && !containerPids.has(p.pid)) kib += p.rssKiB;
  return kib / 1024;
}

/** CPU time (ms) the daemon process has used so far, all its threads (the machine may be loaded: CPU time says more than wall time). */
function daemonCpuMs(d) {
  let ns = 0;
  for (const t of readdirSync(`/proc/${d.pid}/task`)) {
    try { ns += Number(readFileSync(`/proc/${d.pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns / 1e6;
}

// --- measurements -------------------------------------------------------------------

async function benchRun(d) {
  const docker = cli(d);
  docker(['run', '--rm', IMAGE, 'true']); // warm-up
  const compare = opt('--compare', null);
  if (d.name !== 'berthd' || !compare) return median(Array.from({ length: runs }, () => ms(() => docker(['run', '--rm', IMAGE, 'true']))));
  // With --compare: this berthd, the other build's and bare runc take turns in every round (A/B on a loaded machine).
  const dc = await startBerthd({ root: resolve(compare) });
  const other = cli(dc);
  other(['import', '-c', 'CMD ["sh"]', join(base, 'rootfs.tar'), IMAGE]);
  other(['run', '--rm', IMAGE, 'true']);
  const variants = [
    ['docker run --rm true, this berthd', () => docker(['run', '--rm', IMAGE, 'true'])],
    [`docker run --rm true, berthd of ${compare}`, () => other(['run', '--rm', IMAGE, 'true'])],
    ['bare runc run, same bundle', (i) => bareRuncRun(join(base, 'bundle'), `bench-ab-${process.pid}-${i}`)],
  ];
  const samples = variants.map(() => []);
  for (let i = 0; i < runs; i++) variants.forEach(([, fn], j) => samples[j].push(ms(() => fn(i))));
  results.runDetail = variants.map(([name], j) => [name, median(samples[j])]);
  return results.runDetail[0][1];
}

/** bare `runc run` of runc's default bundle and (once made) of berthd's spec, taking turns in every round. */
/** `runc run` of a bundle as container `name`, with the normal policy, as under the daemons (a real-time task cannot join a cgroup v1 cpu group). */
function bareRuncRun(bundle, name) {
  sh(...normalPolicy('runc', ['--root', join(base, 'runc-root'), 'run', '--bundle', bundle, name]), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function benchRunc() {
  const bundles = [join(base, 'bundle'), ...(specBundle ? [specBundle] : [])];
  const once = (bundle, i) => ms(() => bareRuncRun(bundle, `bench-${process.pid}-${i}`));
  for (const b of bundles) once(b, -1);
  const samples = bundles.map(() => []);
  for (let i = 0; i < runs; i++) bundles.forEach((b, j) => samples[j].push(once(b, i)));
  return { plain: median(samples[0]), spec: specBundle ? median(samples[1]) : undefined };
}

function benchExec(d) {
  if (d.name === 'berthd') return benchExecRounds(d);
  const docker = cli(d);
  docker(['run', '-d', '--name', 'ex', IMAGE, 'sleep', '1000']);
  docker(['exec', 'ex', 'true']);
  const t = median(Array.from({ length: runs }, () => ms(() => docker(['exec', 'ex', 'true']))));
  docker(['rm', '-f', 'ex']);
  return t;
}

/** crun on a cgroup hybrid host (controllers in the v2 hierarchy) refuses to run containers. */
function cgroupHybrid() {
  try { return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== ''; } catch { return false; }
}

/**
 * berthd's exec next to what it costs without berthd, in the same rounds:
 * bare `runc exec` into the same container, and the same pair for crun; with
 * --compare, another build's berthd too. Each round runs every variant once,
 * in turn, so a loaded machine hits them alike.
 */
async function benchExecRounds(d) {
  const crun = spawnSync('sh', ['-c', 'command -v crun']).stdout?.toString().trim();
  const variants = [];
  // crun 1.8 on cgroup v1 refuses pids.max -1 (unlimited, which dockerd's spec has too): crun's container gets a limit.
  const setup = (dd, name, runtime) => {
    const docker = cli(dd);
    if (dd !== d) docker(['import', '-c', 'CMD ["sh"]', join(base, 'rootfs.tar'), IMAGE]);
    docker(['run', '-d', '--name', name, ...(runtime === 'runc' ? [] : ['--runtime', runtime, '--pids-limit', '100000']), IMAGE, 'sleep', '1000']);
    docker(['exec', name, 'true']);
    const id = docker(['inspect', '-f', '{{.Id}}', name]).trim();
    return { docker, id, rootDir: join(dd.dir, 'exec', 'runtime', runtime) };
  };
  const cleanups = [];
  const main = setup(d, 'ex', 'runc');
  cleanups.push(() => main.docker(['rm', '-f', 'ex']));
  variants.push(['docker exec (runc container)', () => main.docker(['exec', 'ex', 'true'])]);
  variants.push(['bare runc exec, same container', () => sh(...normalPolicy('runc', ['--root', main.rootDir, 'exec', main.id, 'true']))]);
  if (crun) {
    // On a hybrid host this berthd lives in a private mount namespace without the v2 mount (only there; the host keeps it).
    const wrap = cgroupHybrid() ? ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'umount /sys/fs/cgroup/unified && exec "$0" "$@"'] : undefined;
    const dc = await startBerthd({ config: { runtimes: { crun: { path: crun } } }, wrap });
    const c = setup(dc, 'exc', 'crun');
    cleanups.push(() => c.docker(['rm', '-f', 'exc']));
    variants.push(['docker exec (crun container)', () => c.docker(['exec', 'exc', 'true'])]);
    variants.push(['bare crun exec, same container', () => sh(...normalPolicy('crun', ['--root', c.rootDir, 'exec', c.id, 'true']))]);
  }
  const compare = opt('--compare', null);
  if (compare) {
    const dc = await startBerthd({ root: resolve(compare) });
    const c = setup(dc, 'ex', 'runc');
    cleanups.push(() => c.docker(['rm', '-f', 'ex']));
    variants.push([`docker exec, berthd of ${compare}`, () => c.docker(['exec', 'ex', 'true'])]);
  }
  const samples = variants.map(() => []);
  for (let i = 0; i < runs; i++) variants.forEach(([, fn], j) => samples[j].push(ms(fn)));
  results.execDetail = variants.map(([name], j) => [name, median(samples[j])]);
  for (const c of cleanups) c();
  return results.execDetail[0][1];
}

async function benchLifecycle(d, total = 40, workers = 8) {
  if (d.name === 'berthd' && opt('--compare', null)) return benchLifecycleRounds();
  return lifecycleOnce(d, total, workers);
}

async function lifecycleOnce(d, total = 40, workers = 8) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    const agent = new Agent({ keepAlive: true });
    while (next < total) {
      next++;
      const { Id } = await api(d.socket, agent, 'POST', '/containers/create', { Image: IMAGE, Cmd: ['true'] });
      await api(d.socket, agent, 'POST', `/containers/${Id}/start`);
      await api(d.socket, agent, 'POST', `/containers/${Id}/wait`);
      await api(d.socket, agent, 'DELETE', `/containers/${Id}`);
    }
    agent.destroy();
  }));
  return total / ((performance.now() - t0) / 1000);
}

/**
 * With --compare DIR: this build's berthd and DIR's, each fresh and in its
 * own cpuacct cgroup (its containers' cgroup parent nested inside it), run
 * the lifecycle in alternating rounds (`--lifecycle-rounds N`, default 5, 40
 * containers each). Per build: the median rate, and the CPU per container of
 * everything it took — berthd (main thread and the others), conmon, runc
 * create/start/delete, runc init and the container — from the cgroup's
 * cpuacct.usage, which a loaded machine distorts far less than the rate.
 */
async function benchLifecycleRounds() {
  const rounds = Number(opt('--lifecycle-rounds', 5)) || 5;
  const builds = [];
  for (const [tag, dir] of [['a', root], ['b', resolve(opt('--compare'))]]) {
    const cg = `berth-bench-${process.pid}-${tag}`;
    mkdirSync(`/sys/fs/cgroup/cpuacct/${cg}`, { recursive: true });
    lifecycleCgroups.push(cg);
    const d = await startBerthd({
      root: dir,
      config: { 'cgroup-parent': `/${cg}/ctr` },
      wrap: ['sh', '-c', `echo $$ > /sys/fs/cgroup/cpuacct/${cg}/cgroup.procs && exec "$@"`, 'sh'],
    });
    cli(d)(['import', '-c', 'CMD ["sh"]', join(base, 'rootfs.tar'), IMAGE]);
    await lifecycleOnce(d, 8); // warm-up: the image's first container
    builds.push({ name: dir === root ? 'this build' : `berthd of ${dir}`, d, cg, rates: [], cpu: [], main: [], threads: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const usage = () => Number(readFileSync(`/sys/fs/cgroup/cpuacct/${b.cg}/cpuacct.usage`, 'utf8')) / 1e6;
      const [cg0, main0, all0] = [usage(), mainThreadCpuMs(b.d), daemonCpuMs(b.d)];
      b.rates.push(await lifecycleOnce(b.d));
      b.cpu.push((usage() - cg0) / 40);
      b.main.push((mainThreadCpuMs(b.d) - main0) / 40);
      b.threads.push((daemonCpuMs(b.d) - all0 - (mainThreadCpuMs(b.d) - main0)) / 40);
    }
  }
  console.log(`\nlifecycle, ${rounds} interleaved rounds of 40 (median rate; CPU ms per container: all processes = berthd main thread + berthd other threads + the rest):`);
  for (const b of builds) {
    const [cpu, main, threads] = [median(b.cpu), median(b.main), median(b.threads)];
    console.log(`  ${b.name.padEnd(40)} ${median(b.rates).toFixed(1).padStart(6)}/s   ${cpu.toFixed(1)} = ${main.toFixed(1)} + ${threads.toFixed(1)} + ${(cpu - main - threads).toFixed(1)}   (rounds: ${b.rates.map((x) => x.toFixed(1)).join(' ')})`);
    console.log(`      CPU per round: ${b.cpu.map((x) => x.toFixed(1)).join(" ")}`);
  }
  const [a, b] = builds;
  console.log(`  this build / compare: rate ${(median(a.rates) / median(b.rates)).toFixed(2)}x, CPU per container ${(median(a.cpu) / median(b.cpu)).toFixed(2)}x`);
  return median(a.rates);
}

/** cpuacct cgroups made by benchLifecycleRounds, removed on the way out. */
const lifecycleCgroups = [];

/** CPU time (ms) of the daemon's main thread (its event loop) so far. */
function mainThreadCpuMs(d) {
  return Number(readFileSync(`/proc/${d.pid}/task/${d.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/** 100 containers on `d` and a keep-alive agent for 16 clients; `measure(seconds)` lists them in a loop. */
async function listFixture(d, name, containers = 100, clients = 16) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const ids = [];
  for (let i = 0; i < containers; i++) ids.push((await api(d.socket, agent, 'POST', '/containers/create', { Image: IMAGE, Cmd: ['true'], Labels: { bench: 'list' } })).Id);
  const count = (await api(d.socket, agent, 'GET', '/containers/json?all=1')).length;
  if (count < containers) throw new Error(`${d.name} lists ${count} containers, expected ${containers}`);
  const total = { done: 0, ms: 0, cpu: 0 };
  const measure = async (seconds, record = true) => {
    let done = 0;
    const end = performance.now() + seconds * 1000;
    const t0 = performance.now();
    const cpu0 = daemonCpuMs(d);
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await api(d.socket, agent, 'GET', '/containers/json?all=1');
        done++;
      }
    }));
    if (!record) return;
    total.done += done;
    total.ms += performance.now() - t0;
    total.cpu += daemonCpuMs(d) - cpu0;
  };
  const result = () => ({ rate: total.done / (total.ms / 1000), cpuPerRequest: total.cpu / total.done });
  const teardown = async () => {
    for (const id of ids) await api(d.socket, agent, 'DELETE', `/containers/${id}?force=1`);
    agent.destroy();
  };
  return { name, measure, result, teardown };
}

/**
 * The list rate and the daemon's CPU per request. With --compare DIR, berthd
 * built in DIR lists its own 100 containers in the same run, interleaved:
 * each round measures both (in alternating order) for 2 s, after a warm-up,
 * so a loaded machine hits them alike (--list-rounds N, default 5).
 */
async function benchList(d) {
  const fixtures = [await listFixture(d, 'berthd (this checkout)')];
  const compare = opt('--compare', null);
  if (compare && d.name === 'berthd') {
    const dc = await startBerthd({ root: resolve(compare) });
    cli(dc)(['import', '-c', 'CMD ["sh"]', join(base, 'rootfs.tar'), IMAGE]);
    fixtures.push(await listFixture(dc, `berthd of ${compare}`));
  }
  const rounds = fixtures.length > 1 ? Number(opt('--list-rounds', 5)) || 5 : 1;
  const seconds = fixtures.length > 1 ? 2 : 3;
  for (const f of fixtures) await f.measure(0.5, false);
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [...fixtures].reverse() : fixtures;
    for (const f of order) await f.measure(seconds);
  }
  if (fixtures.length > 1) results.listDetail = fixtures.map((f) => [f.name, f.result()]);
  for (const f of fixtures) await f.teardown();
  return fixtures[0].result();
}

function benchOutput(d) {
  const docker = cli(d);
  const line = 'x'.repeat(99); // 100-byte lines
  const script = `yes ${line} | head -c ${OUTPUT_BYTES}`;
  const env = { ...process.env, DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') };
  const cpu0 = daemonCpuMs(d);
  const attachedMs = ms(() => {
    const r = spawnSync('sh', ['-c', `docker run --name out ${IMAGE} sh -c '${script}' | wc -c`], { env, encoding: 'utf8' });
    if (Number(r.stdout.trim()) !== OUTPUT_BYTES) throw new Error(`${d.name}: docker run gave ${r.stdout.trim()} bytes: ${r.stderr}`);
  });
  const cpu1 = daemonCpuMs(d);
  const logsMs = ms(() => {
    const r = spawnSync('sh', ['-c', 'docker logs out | wc -c'], { env, encoding: 'utf8' });
    if (Number(r.stdout.trim()) !== OUTPUT_BYTES) throw new Error(`${d.name}: docker logs gave ${r.stdout.trim()} bytes: ${r.stderr}`);
  });
  const cpu2 = daemonCpuMs(d);
  docker(['rm', '-f', 'out']);
  const mb = OUTPUT_BYTES / 1e6;
  return { attached: mb / (attachedMs / 1000), logs: mb / (logsMs / 1000), attachedCpu: cpu1 - cpu0, logsCpu: cpu2 - cpu1 };
}

async function benchRss(d, n = 20) {
  const docker = cli(d);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = daemonRssMiB(d, new Set());
  const names = Array.from({ length: n }, (_, i) => `rss${i}`);
  for (const name of names) docker(['run', '-d', '--name', name, IMAGE, 'sleep', '1000']);
  await new Promise((r) => setTimeout(r, 2000));
  const pids = new Set(names.map((name) => Number(docker(['inspect', '-f', '{{.State.Pid}}', name]).trim())));
  const busy = daemonRssMiB(d, pids);
  docker(['rm', '-f', ...names]);
  return { idle, busy, perContainer: (busy - idle) / n };
}

// --- the run ------------------------------------------------------------------------

const results = {};
let specBundle; // made once berthd runs (see makeDaemonSpecBundle)
try {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${runs} runs per median${withDockerd ? '' : ', no dockerd'}`);
  const tar = makeRootfs();
  const daemons = [await startBerthd()];
  if (withDockerd) daemons.push(await startDockerd());
  for (const d of daemons) cli(d)(['import', '-c', 'CMD ["sh"]', tar, IMAGE]);
  if (wants('run')) specBundle = makeDaemonSpecBundle(daemons[0]);
  if (wants('run')) results.runc = benchRunc();
  const measures = [
    ['run', (d) => benchRun(d)],
    ['exec', (d) => benchExec(d)],
    ['lifecycle', (d) => benchLifecycle(d)],
    ['list', (d) => benchList(d)],
    ['output', (d) => benchOutput(d)],
    ['rss', (d) => benchRss(d)],
  ].filter(([name]) => wants(name));
  for (const d of daemons) {
    const r = (results[d.name] = {});
    process.stdout.write(`${d.name}:`);
    for (const [i, [name, fn]] of measures.entries()) {
      process.stdout.write(`${i ? ',' : ''} ${name}`);
      r[name] = await fn(d);
    }
    process.stdout.write('\n');
  }
  if (wants('run')) results.runcAgain = benchRunc();
} finally {
  await stopDaemons(started);
  spawnSync('sh', ['-c', `rmdir /sys/fs/cgroup/*/berth-bench-${process.pid} /sys/fs/cgroup/*/dockerd-bench-${process.pid} /sys/fs/cgroup/berth-bench-${process.pid} /sys/fs/cgroup/dockerd-bench-${process.pid} 2>/dev/null`]);
  for (const cg of lifecycleCgroups) spawnSync('sh', ['-c', `rmdir /sys/fs/cgroup/*/${cg}/ctr /sys/fs/cgroup/*/${cg} 2>/dev/null`]);
  rmSync(base, { recursive: true, force: true });
}

const b = results.berthd;
const k = results.dockerd;
// The target's baseline is the equivalent container: runc with the spec berthd (and dockerd) use; runc's default spec is shown too.
const runcPlain = wants('run') ? Math.min(results.runc.plain, results.runcAgain.plain) : undefined;
const runc = wants('run') ? Math.min(results.runc.spec, results.runcAgain.spec) : undefined;
const rows = [
  ['run', 'docker run --rm true (ms)', b.run, k?.run, () => `< 100 and < 3x runc, same spec (${runc.toFixed(0)} ms): ${(b.run / runc).toFixed(2)}x; runc's default spec (${runcPlain.toFixed(0)} ms): ${(b.run / runcPlain).toFixed(2)}x`, () => b.run < 100 && b.run < 3 * runc],
  ['exec', 'docker exec c true (ms)', b.exec, k?.exec, () => '< 40', () => b.exec < 40],
  ['lifecycle', 'create/start/wait/rm, 8 workers (/s)', b.lifecycle, k?.lifecycle, () => '> 15', () => b.lifecycle > 15],
  ['list', 'GET /containers/json, 100 ctrs, 16 clients (req/s)', b.list?.rate, k?.list?.rate, () => '> 800', () => b.list.rate > 800],
  ['list', '  daemon CPU per request (ms)', b.list?.cpuPerRequest, k?.list?.cpuPerRequest, () => '', () => true],
  ['output', '50 MB through docker run (MB/s)', b.output?.attached, k?.output?.attached, () => '> 50', () => b.output.attached > 50],
  ['output', '  daemon CPU for it (ms)', b.output?.attachedCpu, k?.output?.attachedCpu, () => '', () => true],
  ['output', '50 MB through docker logs (MB/s)', b.output?.logs, k?.output?.logs, () => '> 50', () => b.output.logs > 50],
  ['output', '  daemon CPU for it (ms)', b.output?.logsCpu, k?.output?.logsCpu, () => '', () => true],
  ['rss', 'RSS idle (MiB)', b.rss?.idle, k?.rss?.idle, () => '', () => true],
  ['rss', 'RSS with 20 running (MiB)', b.rss?.busy, k?.rss?.busy, () => '', () => true],
  ['rss', 'RSS per running container (MiB)', b.rss?.perContainer, k?.rss?.perContainer, () => '< 3', () => b.rss.perContainer < 3],
].filter(([section]) => wants(section));
if (results.execDetail) {
  console.log('\nexec, same rounds (median ms):');
  const [[, viaRunc], [, bareRunc], ...rest] = results.execDetail;
  for (const [name, v] of results.execDetail) console.log(`  ${name.padEnd(50)} ${v.toFixed(1).padStart(7)}`);
  console.log(`  berthd over bare runc exec: +${(viaRunc - bareRunc).toFixed(1)} ms (${(viaRunc / bareRunc).toFixed(2)}x)`);
  const crun = rest.find(([n]) => n.includes('(crun'));
  const bareCrun = rest.find(([n]) => n.startsWith('bare crun'));
  if (crun && bareCrun) console.log(`  berthd over bare crun exec: +${(crun[1] - bareCrun[1]).toFixed(1)} ms (${(crun[1] / bareCrun[1]).toFixed(2)}x)`);
}
if (results.runDetail) {
  console.log('\nrun, same rounds, interleaved (median ms):');
  for (const [name, v] of results.runDetail) console.log(`  ${name.padEnd(60)} ${v.toFixed(1).padStart(7)}`);
  const [[, a], [, z], [, bare]] = results.runDetail;
  console.log(`  this checkout: ${(a / bare).toFixed(2)}x bare runc; the other: ${(z / bare).toFixed(2)}x; this over the other: ${(a / z).toFixed(2)}x`);
}
if (results.listDetail) {
  console.log('\nlist, same rounds, interleaved (req/s, daemon CPU ms per request):');
  for (const [name, v] of results.listDetail) console.log(`  ${name.padEnd(50)} ${v.rate.toFixed(1).padStart(8)} ${v.cpuPerRequest.toFixed(3).padStart(8)}`);
  const [[, a], [, z]] = results.listDetail;
  console.log(`  this checkout over the other: ${(a.rate / z.rate).toFixed(2)}x req/s, ${(a.cpuPerRequest / z.cpuPerRequest).toFixed(2)}x CPU per request`);
}
if (wants('run')) {
  console.log(`\nbare runc run, runc's default spec: ${results.runc.plain.toFixed(1)} ms (again at the end: ${results.runcAgain.plain.toFixed(1)} ms)`);
  console.log(`bare runc run, berthd's spec for the same container: ${results.runc.spec.toFixed(1)} ms (again at the end: ${results.runcAgain.spec.toFixed(1)} ms)`);
}
console.log(`\n${'measure'.padEnd(52)} ${'berthd'.padStart(9)} ${'dockerd'.padStart(9)} ${'vs dockerd'.padStart(10)}  target`);
for (const [, name, bv, kv, targetOf, metOf] of rows) {
  const target = targetOf();
  const ratio = kv ? `${(bv / kv).toFixed(2)}x` : '-';
  console.log(`${name.padEnd(52)} ${bv.toFixed(1).padStart(9)} ${(kv === undefined ? '-' : kv.toFixed(1)).padStart(9)} ${ratio.padStart(10)}  ${target}${target ? (metOf() ? '  met' : '  NOT met') : ''}`);
}
