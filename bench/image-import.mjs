#!/usr/bin/env node
// `docker import` and `docker load` of a ~200 MB root filesystem into berthd,
// next to plain `tar -x` of the same archive, measured in the same run on the
// same machine.
//
//   node bench/image-import.mjs [--runs N] [--size MB] [--drivers vfs,overlay2] [--rootfs debian,busybox,synthetic]
//                               [--cases import,load1,load5] [--cpu-prof DIR] [--compare DIR] [--save-archives DIR] [--no-dockerd]
//                               [--no-floor]
//
// --save-archives DIR keeps a copy of the archives made (<rootfs>-rootfs.tar,
// -load-1layer.tar, -load-5layers.tar), to profile one command by hand.
//
// With --compare DIR (another checkout, built), every berthd row is measured
// for that build too, interleaved with this one's in the same rounds: an A/B
// comparison on the same machine state.
//
// dockerd (when installed; --no-dockerd leaves it out) is measured for every
// case and driver too, in the same rounds: a fresh dockerd per measurement,
// as berthd, in its own network namespace (no bridge, no iptables), on its own
// temp data-root with the same --storage-driver, stopped by PID. Its cpu is
// dockerd's threads plus the children it reaped (docker-untar); containerd is
// not involved in import/load (graph drivers, not snapshotters, in 20.10).
// On vfs dockerd, too, copies the whole parent tree for every layer: the
// load (5 layers) row shows what a real full-copy driver pays there.
//
// The shell floor (with vfs and load5; --no-floor leaves it out): the
// 5-layer load done by coreutils as a full-copy driver must do it, each
// layer a `cp -a` of the previous layer's tree plus `tar -x` of its own tar,
// once with read/write copies (--reflink=never) and once with cp's default
// (copy_file_range): what berthd's vfs row is compared to besides tar -x.
//
// With --cpu-prof, every berthd runs under `node --cpu-prof` and leaves its
// profile in DIR (open it in Chrome DevTools or summarise it), to see where
// the daemon's time goes; the timings of such a run are not comparable.
//
// Root filesystems (--rootfs, each measured in turn with its own baseline):
//   debian     ~--size MB of this host's own /usr and /var/lib/dpkg
//              content (real binaries, libraries, Python modules, docs,
//              locales, symlinks and hard links), files sampled evenly by a
//              hash of their path so every tree keeps its mix of sizes: what a
//              Debian-based image's layers hold
//   busybox    the official busybox image's shape: one static busybox with
//              its ~270 applets as hard links, a few /etc files (~2 MB); here
//              fixed costs (CLI, HTTP, image metadata) dominate
//   synthetic  busybox plus files of random data of mixed sizes (the first
//              version of this benchmark)
// Each is made once into a temp dir and packed into:
//   rootfs.tar          what `tar -x` unpacks and `docker import` reads
//   load-1layer.tar     a docker-archive whose one layer is rootfs.tar
//   load-5layers.tar    a docker-archive of the same files split into 5 layers
// Each berthd measurement runs against a fresh daemon started as the tests
// start it (its own temp data-root, exec-root, socket, daemon.json; the
// driver through --storage-driver); the time is the docker CLI command alone
// (spawn → exit), not the daemon's start. `tar -x` unpacks into a fresh
// directory on the same filesystem, as a user runs it.
//
// Same starting point for every row: each round runs every row once in a
// fresh random order; before each timed command the machine is `sync`ed, the
// bench waits until Dirty + Writeback memory is small (the other writers of
// a shared machine otherwise throttle whichever row comes next), and the
// input archive is read once into the page cache. What is counted: the
// command's wall time plus a `sync -f` of the filesystem it wrote (the
// measure: every row's data on disk in its time, the same durability for all:
// berthd fsyncs its layers before answering, while tar -x and dockerd 20.10,
// which fsyncs only its metadata, return with their files dirty), the command
// alone (reported), its CPU time (plus the daemon's, all threads), the CPU
// the daemon still spends after the CLI exited (deferred work, reported, not
// hidden in the ratio) and how long a machine-wide `sync` right after takes
// (what is still dirty: about nothing after the syncfs). Figures are medians with
// quartiles; ratios are against the `tar -x` median measured here, never
// against remembered numbers.
import { spawnSync } from 'node:child_process';
import { daemonPolicy, spawnDaemon } from './lib/spawn-daemon.mjs';
import { args, opt, root } from './lib/options.mjs';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, createReadStream, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync,
  readSync, rmSync, statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const runs = Number(opt('--runs', 3)) || 3;
const targetMiB = Number(opt('--size', 200)) || 200;
const drivers = String(opt('--drivers', 'vfs,overlay2')).split(',').filter(Boolean);
const kinds = String(opt('--rootfs', 'debian,busybox')).split(',').filter(Boolean);
const caseNames = String(opt('--cases', 'import,load1,load5')).split(',').filter(Boolean);
const cpuProfDir = opt('--cpu-prof', null) === null ? null : resolve(opt('--cpu-prof'));
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
const saveArchives = opt('--save-archives', null) === null ? null : resolve(opt('--save-archives'));
const compareRoot = opt('--compare', null) === null ? null : resolve(opt('--compare'));
const builds = compareRoot === null ? [['', root]] : [['', root], [' (--compare)', compareRoot]];
const withDockerd = !args.includes('--no-dockerd') && spawnSync('sh', ['-c', 'command -v dockerd && command -v unshare']).status === 0;
/** The daemons measured: berthd (and --compare's build), then dockerd as the baseline engine. */
const engines = [...builds.map(([tag, buildRoot]) => ({ tag, buildRoot, dockerd: false })), ...(withDockerd ? [{ tag: ' (dockerd)', dockerd: true }] : [])];
const TARGET_RATIO = 1.5;
const BUSYBOX = '/bin/busybox';

const base = mkdtempSync(join(tmpdir(), 'berth-bench-import-'));
const started = new Set(); // daemons still running, stopped on the way out whatever happens

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

// --- the rootfs and the archives (made once) ---------------------------------------

/** Mixed sizes: many small files, a few hundred medium ones, a handful of large ones (~20/45/35 % of the bytes). */
function fileSizes(totalBytes) {
  const sizes = [];
  const rnd = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo));
  let small = 0.2 * totalBytes, medium = 0.45 * totalBytes, large = 0.35 * totalBytes;
  while (small > 0) { const s = rnd(512, 16 << 10); sizes.push(s); small -= s; }
  while (medium > 0) { const s = rnd(64 << 10, 1 << 20); sizes.push(s); medium -= s; }
  while (large > 0) { const s = rnd(4 << 20, 16 << 20); sizes.push(s); large -= s; }
  return sizes.sort(() => Math.random() - 0.5);
}

const PARTS = 5;

/** bin/busybox with its applets as hard links, /etc/passwd and /etc/group, /tmp: the official busybox image's layout. */
function makeBusybox(dir) {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'root'), { mode: 0o700 });
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  const applets = sh(BUSYBOX, ['--list']).split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  for (const a of applets) linkSync(join(dir, 'bin', 'busybox'), join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return applets.length + 3;
}

function makeSynthetic(dir) {
  let n = makeBusybox(dir);
  const sizes = fileSizes(targetMiB * 1024 * 1024 - statSync(BUSYBOX).size);
  for (let i = 0; i < sizes.length; i++) {
    const sub = join(dir, 'usr', 'share', `part${i % PARTS}`, `d${Math.floor(i / PARTS) % 40}`, `s${Math.floor(i / (PARTS * 40)) % 8}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.bin`), randomBytes(sizes[i]), { mode: i % 7 === 0 ? 0o755 : 0o644 });
    n++;
  }
  return n;
}

/** Host trees a Debian image's layers are made of (those that exist here are used). */
const DEBIAN_SOURCES = ['/usr/bin', '/usr/sbin', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/python3',
  '/usr/lib/python3.11', '/usr/lib/locale', '/usr/share/doc', '/usr/share/locale', '/usr/share/perl5', '/usr/share/perl', '/usr/share/zoneinfo',
  '/usr/share/man', '/usr/share/common-licenses', '/usr/share/i18n', '/usr/include', '/var/lib/dpkg'];

/**
 * A copy of about --size MB of the host's Debian content: every regular file
 * of the sources is listed, then files are kept when a hash of their path
 * falls under the ratio that meets the size, so each tree keeps its own mix of
 * file sizes. Symlinks in kept directories come along; hard links stay links.
 */
function makeDebian(dir) {
  const files = [];
  const links = [];
  const visit = (abs) => {
    let st;
    try { st = lstatSync(abs); } catch { return; }
    if (st.isDirectory()) {
      let names;
      try { names = readdirSync(abs).sort(); } catch { return; }
      for (const name of names) visit(`${abs}/${name}`);
    } else if (st.isSymbolicLink()) {
      links.push(abs);
    } else if (st.isFile()) {
      files.push({ abs, size: st.size, mode: st.mode & 0o7777, ino: `${st.dev}:${st.ino}`, nlink: st.nlink });
    }
  };
  const sources = DEBIAN_SOURCES.filter((d) => existsSync(d));
  for (const src of sources) visit(src);
  const total = files.reduce((a, f) => a + f.size, 0);
  const ratio = Math.min(1, (targetMiB * 1024 * 1024) / total);
  const keep = (path) => createHash('sha1').update(path).digest().readUInt32BE(0) / 2 ** 32 < ratio;
  const made = new Set();
  const dirOf = (abs) => abs.slice(0, abs.lastIndexOf('/'));
  const ensureDir = (hostDir) => {
    if (made.has(hostDir)) return;
    mkdirSync(join(dir, hostDir), { recursive: true });
    made.add(hostDir);
  };
  const copied = new Map();
  let n = 0;
  for (const f of files) {
    if (!keep(f.abs)) continue;
    try {
      ensureDir(dirOf(f.abs));
      const dest = join(dir, f.abs);
      const first = f.nlink > 1 ? copied.get(f.ino) : undefined;
      if (first) linkSync(first, dest);
      else {
        copyFileSync(f.abs, dest);
        chmodSync(dest, f.mode);
        if (f.nlink > 1) copied.set(f.ino, dest);
      }
      n++;
    } catch { /* unreadable here: skip */ }
  }
  for (const l of links) {
    if (!made.has(dirOf(l)) && !keep(l)) continue;
    try {
      ensureDir(dirOf(l));
      symlinkSync(readlinkSync(l), join(dir, l));
      n++;
    } catch { /* skip */ }
  }
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  // The host's /etc may hold secrets: a made-up one stands in for it.
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  return n + 2;
}

const ROOTFS_KINDS = { debian: makeDebian, busybox: makeBusybox, synthetic: makeSynthetic };

/** Every path under `rel` (dirs before their contents), for `tar --no-recursion -T`. */
function walk(dir, rel) {
  const out = [rel];
  if (!lstatSync(join(dir, rel)).isDirectory()) return out;
  for (const name of readdirSync(join(dir, rel)).sort()) out.push(...walk(dir, `${rel}/${name}`));
  return out;
}

function tarOf(dir, out, paths) {
  if (paths) {
    const list = `${out}.list`;
    writeFileSync(list, paths.join('\n') + '\n');
    sh('tar', ['-C', dir, '--numeric-owner', '--no-recursion', '-cf', out, '-T', list]);
    rmSync(list);
  } else {
    sh('tar', ['-C', dir, '--numeric-owner', '-cf', out, '.']);
  }
}

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve('sha256:' + h.digest('hex')));
  });
}

/** A docker-archive (manifest.json, config, layer-N/layer.tar) of the given layer tars, written by tar(1). */
async function dockerArchive(layerTars, out, tag) {
  const stage = mkdtempSync(join(base, 'stage-'));
  const diffIds = [];
  const layers = [];
  for (let i = 0; i < layerTars.length; i++) {
    diffIds.push(await sha256File(layerTars[i]));
    mkdirSync(join(stage, `layer-${i}`));
    linkSync(layerTars[i], join(stage, `layer-${i}`, 'layer.tar')); // one link inside the archive: stored as a file
    layers.push(`layer-${i}/layer.tar`);
  }
  const created = '2024-05-06T07:08:09Z';
  const config = JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', created,
    config: { Cmd: ['/bin/sh'] },
    history: layerTars.map((_, i) => ({ created, created_by: `bench layer ${i}` })),
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  const cfgName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(stage, cfgName), config);
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: layers }]));
  sh('tar', ['-C', stage, '-cf', out, 'manifest.json', cfgName, ...layers.map((l) => l.split('/')[0])]);
  rmSync(stage, { recursive: true, force: true });
  return 'sha256:' + cfgName.slice(0, -5);
}

// --- berthd, as test/helpers/berthd-process.ts starts it ----------------------------

const ping = (socketPath) => new Promise((resolve) => {
  const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
  req.on('error', () => resolve(false));
  req.on('timeout', () => { req.destroy(); resolve(false); });
  req.end();
});

async function startBerthd(driver, buildRoot = root) {
  const dir = mkdtempSync(join(base, `berthd-${driver}-`));
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, '{"bridge":"none","iptables":false,"ip-forward":false}\n'); // no host networking: benches may run side by side
  const argv = ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'berthd.pid'), '--storage-driver', driver];
  const child = cpuProfDir === null
    ? spawnDaemon(join(buildRoot, 'bin/berthd'), argv, { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawnDaemon(process.execPath, ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, join(buildRoot, 'bin/launch.cjs'), ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`berthd (${driver}) exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() - t0 > 30_000) { await stop(child); throw new Error(`berthd (${driver}) did not answer /_ping: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') };
  const docker = (argv) => sh('docker', argv, { env });
  return { dir, child, pid: child.pid, env, docker, stderr: () => stderr };
}

/**
 * dockerd 20.10 (the baseline engine) on its own temp dirs, in its own
 * network namespace (`unshare --net`: no bridge or iptables rules on the
 * host), with the storage driver under test. `pid` is dockerd's own (from
 * its pidfile), `child` the unshare process that exits when dockerd does.
 */
async function startDockerd(driver) {
  const dir = mkdtempSync(join(base, `dockerd-${driver}-`));
  const socket = join(dir, 'docker.sock');
  const pidfile = join(dir, 'dockerd.pid');
  const child = spawnDaemon('unshare', ['--net', '--fork', 'dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '-H', `unix://${socket}`, '--pidfile', pidfile, '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver', driver],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`dockerd (${driver}) exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() - t0 > 60_000) { await stop(child); throw new Error(`dockerd (${driver}) did not answer /_ping: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  const pid = Number(readFileSync(pidfile, 'utf8'));
  child.daemonPid = pid; // stop() signals dockerd itself; unshare exits with it
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') };
  const docker = (argv) => sh('docker', argv, { env });
  return { dir, child, pid, env, docker, stderr: () => stderr };
}

/** Unmounts whatever a stopped daemon left mounted under its dir (dockerd's private bind of its overlay2 home), deepest first. */
function unmountUnder(dir) {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
  for (const m of points.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  const pid = child.daemonPid ?? child.pid;
  process.kill(pid, 'SIGTERM');
  const t = setTimeout(() => { if (child.exitCode === null) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } }, 15_000);
  await done;
  clearTimeout(t);
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds of a process (`self`: the waited-for children of this one, i.e. the commands it ran; else the pid and its waited-for children). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = f.slice(11, 15).map(Number);
  return (pid === undefined ? cutime + cstime : utime + stime + cutime + cstime) / CLK_TCK;
}

/** CPU seconds of a live process and its threads, from schedstat (nanoseconds, finer than the clock tick of /proc/<pid>/stat), plus its reaped children's. */
function schedCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [cutime, cstime] = stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(13, 15).map(Number);
  let ns = (cutime + cstime) / CLK_TCK * 1e9; // what it ran and waited for: dockerd's docker-untar, berthd's helpers
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
  }
  return ns / 1e9;
}

/** Dirty + Writeback memory of the whole machine (MiB), from /proc/meminfo. */
function unwrittenMiB() {
  const m = readFileSync('/proc/meminfo', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(m)?.[1] ?? 0);
  return (kb('Dirty') + kb('Writeback')) / 1024;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The same starting point for every timed command: `sync` (every dirty page
 * of the machine written, ours from earlier rows and setup included), then
 * a wait until the machine's Dirty + Writeback memory is small (other
 * processes keep writing; at most 10 s), and the input archive read once
 * so that it is in the page cache for every row alike (as it is when a user
 * has just made or downloaded it); `input` may list several files (the shell
 * floor's layer tars).
 */
async function settle(input) {
  sh('sync', []);
  const t0 = Date.now();
  while (unwrittenMiB() > 32 && Date.now() - t0 < 10_000) {
    await sleep(100);
    if (unwrittenMiB() > 32) sh('sync', []);
  }
  for (const file of input === undefined ? [] : [input].flat()) {
    const fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    try { while (readSync(fd, buf, 0, buf.length, null) > 0) { /* warm the page cache */ } } finally { closeSync(fd); }
  }
}

/**
 * One timed command, started from settle()'s state. Returns
 *   wall      seconds from spawn of the command (tar, or the docker CLI) to the end of a `sync -f` of
 *             the filesystem it wrote (its data on disk, as berthd's fsyncs put it): THE measure;
 *   cmd       seconds from spawn to exit of the command alone (without that sync);
 *   cpu       CPU seconds of the command, plus berthd's own (all threads, and what it ran) meanwhile;
 *   deferred  CPU seconds berthd still spent after the CLI had exited (work it left for later: 0 if none);
 *   flush     seconds a machine-wide `sync` right after takes (what is still dirty: ~0 after the syncfs).
 */
async function timed(argv, input, daemonPid, durableDir) {
  await settle(input);
  const d0 = daemonPid ? schedCpu(daemonPid) : 0;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  sh(...argv);
  const cmd = (performance.now() - t0) / 1000;
  // Same durability for every row: berthd fsyncs its layers before it answers, tar -x and dockerd 20.10
  // (which fsyncs only its metadata: ~26 fsyncs for a 5-layer load, none on layer files) return with their
  // files dirty. `sync -f` (syncfs) of the filesystem written to puts everyone's data on disk inside the time.
  sh('sync', ['-f', durableDir]);
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds();
  let deferred = 0;
  let cpu = c1 - c0;
  if (daemonPid) {
    const d1 = schedCpu(daemonPid);
    cpu += d1 - d0;
    // The daemon is idle once its CPU time stops growing over 300 ms (at most 30 s).
    let last = d1;
    for (const t = Date.now(); Date.now() - t < 30_000;) {
      await sleep(300);
      const now = schedCpu(daemonPid);
      if (now - last < 0.003) break;
      last = now;
    }
    deferred = last - d1;
  }
  const f0 = performance.now();
  sh('sync', []);
  return { wall, cmd, cpu, deferred, flush: (performance.now() - f0) / 1000 };
}

/** One daemon measurement: a fresh berthd (or dockerd), the command timed, its outcome checked, the daemon stopped and its dir removed. */
async function onFreshDaemon(engine, driver, argv, input, check) {
  const d = engine.dockerd ? await startDockerd(driver) : await startBerthd(driver, engine.buildRoot);
  try {
    const s = await timed(['docker', argv, { env: d.env }], input, d.pid, d.dir);
    check(d);
    return s;
  } finally {
    await stop(d.child);
    unmountUnder(d.dir);
    rmSync(d.dir, { recursive: true, force: true });
  }
}

/** One line per measurement on stderr, as it is made (a long run on a busy machine shows where it is). */
function progress(round, key, t) {
  console.error(`  round ${round + 1}: ${key}: ${t.wall.toFixed(2)} s (command alone ${t.cmd.toFixed(2)} s, cpu ${t.cpu.toFixed(2)} s, late cpu ${t.deferred.toFixed(2)} s, sync ${t.flush.toFixed(2)} s)`);
}

/** Fisher-Yates: a fresh random order of the rows for every round. */
function shuffled(xs) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The q-quantile (0..1) by linear interpolation between the sorted values. */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}

const median = (xs) => quantile(xs, 0.5);

/** Paths of each of PARTS layers: entries spread by a hash of their path, each layer with the directories above its entries. */
function splitLayers(rootfsDir) {
  const all = walk(rootfsDir, '.');
  const isDir = new Set(all.filter((p) => lstatSync(join(rootfsDir, p)).isDirectory()));
  const parts = Array.from({ length: PARTS }, () => ({ dirs: new Set(['.']), paths: new Set() }));
  for (const p of all) {
    if (isDir.has(p)) continue;
    const part = parts[createHash('sha1').update(p).digest().readUInt32BE(0) % PARTS];
    part.paths.add(p);
    for (let d = p.slice(0, p.lastIndexOf('/')); d !== '.' && !part.dirs.has(d); d = d.slice(0, d.lastIndexOf('/'))) part.dirs.add(d);
  }
  return parts.map(({ dirs, paths }) => all.filter((p) => dirs.has(p) || paths.has(p)));
}

/** Makes one rootfs kind and its archives; returns the cases to measure. */
async function prepare(kind) {
  const dir = mkdtempSync(join(base, `${kind}-`));
  const rootfsDir = join(dir, 'rootfs');
  mkdirSync(rootfsDir);
  const t0 = performance.now();
  const files = ROOTFS_KINDS[kind](rootfsDir);
  const rootfsTar = join(dir, 'rootfs.tar');
  tarOf(rootfsDir, rootfsTar);
  const rootfsDigest = await sha256File(rootfsTar);
  const load1 = join(dir, 'load-1layer.tar');
  const id1 = await dockerArchive([rootfsTar], load1, 'bench:load1');
  const partTars = splitLayers(rootfsDir).map((paths, i) => {
    const out = join(dir, `part${i}.tar`);
    tarOf(rootfsDir, out, paths);
    return out;
  });
  const load5 = join(dir, 'load-5layers.tar');
  const id5 = await dockerArchive(partTars, load5, 'bench:load5');
  const entries = walk(rootfsDir, '.').length;
  rmSync(rootfsDir, { recursive: true, force: true });
  const mib = (p) => statSync(p).size / 1024 / 1024;
  console.log(`\n== rootfs ${kind}: ${entries} entries (${files} files and links), rootfs.tar ${mib(rootfsTar).toFixed(1)} MiB, `
    + `load-5layers.tar layers ${partTars.map((p) => mib(p).toFixed(0)).join('+')} MiB; made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // Kept for the vfs shell floor (below), else removed at once.
  const floorWanted = drivers.includes('vfs') && caseNames.includes('load5') && !args.includes('--no-floor');
  if (!floorWanted) for (const p of partTars) rmSync(p);
  if (saveArchives) {
    mkdirSync(saveArchives, { recursive: true });
    for (const p of [rootfsTar, load1, load5]) copyFileSync(p, join(saveArchives, `${kind}-${p.slice(p.lastIndexOf('/') + 1)}`));
    console.log(`archives copied into ${saveArchives}`);
  }
  const cases = [
    ['import', 'docker import rootfs.tar', ['import', rootfsTar, 'bench:import'], rootfsTar, (d) => {
      const layers = d.docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'bench:import']).trim();
      if (layers !== JSON.stringify([rootfsDigest])) throw new Error(`import gave layers ${layers}`);
    }],
    ['load1', 'docker load (1 layer)', ['load', '-q', '-i', load1], load1, (d) => {
      const id = d.docker(['image', 'inspect', '--format', '{{.Id}}', 'bench:load1']).trim();
      if (id !== id1) throw new Error(`load gave ${id}, expected ${id1}`);
    }],
    ['load5', 'docker load (5 layers)', ['load', '-q', '-i', load5], load5, (d) => {
      const id = d.docker(['image', 'inspect', '--format', '{{.Id}}', 'bench:load5']).trim();
      if (id !== id5) throw new Error(`load gave ${id}, expected ${id5}`);
    }],
  ].filter(([key]) => caseNames.includes(key)).map(([, ...rest]) => rest);
  return { dir, rootfsTar, cases, partTars: floorWanted ? partTars : null };
}

/**
 * The shell floor of a full-copy driver's 5-layer load (issue 3): what vfs
 * must do at the least, done by coreutils — for every layer a new directory,
 * a copy of the whole previous layer's tree into it (`cp -a`), then `tar -x`
 * of the layer's tar on top. Two variants: `--reflink=never` (read/write:
 * coreutils 9 then never calls copy_file_range) and cp's default (FICLONE,
 * then copy_file_range: an in-kernel copy, near-free only where the
 * filesystem shares extents, btrfs/xfs). Its ratio to `tar -x` is the best a
 * vfs load can reach on this filesystem without parallel work.
 */
function floorScript(partTars, into, reflink) {
  const cp = reflink ? 'cp -a' : 'cp -a --reflink=never';
  const steps = partTars.map((t, k) => `mkdir "$D/L${k}"${k === 0 ? '' : ` && ${cp} "$D/L${k - 1}/." "$D/L${k}/"`} && tar -xf '${t}' -C "$D/L${k}"`);
  return ['sh', ['-c', `set -e; D='${into}'; ${steps.join('; ')}`]];
}

async function measure(kind) {
  const { dir, rootfsTar, cases, partTars } = await prepare(kind);
  // Every round runs every row once, in a fresh random order, so that no row always follows the same
  // other (page cache, writeback, the other helpers' load), and each timed command starts from settle().
  const rows = [{ name: 'tar -x rootfs.tar (baseline)', driver: '-', baseline: true, times: [] }];
  if (partTars) {
    rows.push({ name: 'shell floor (cp -a rw + tar -x)x5', driver: 'vfs', floor: { reflink: false }, times: [] });
    rows.push({ name: 'shell floor (cp -a cfr + tar -x)x5', driver: 'vfs', floor: { reflink: true }, times: [] });
  }
  for (const driver of drivers) {
    for (const [name, argv, input, check] of cases) {
      for (const engine of engines) rows.push({ name: name + engine.tag, driver, argv, input, check, engine, compare: engine.tag !== '', times: [] });
    }
  }
  const failed = new Map();
  const loads = [];
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg()[0]);
    for (const row of shuffled(rows)) {
      const key = `${row.name} on ${row.driver}`;
      if (failed.has(key)) continue;
      if (row.baseline) {
        // tar -x of rootfs.tar into a fresh directory on the same filesystem, as a user runs it, scheduled as the
        // daemons are (not under the bench's real-time policy, which would favour it on a loaded machine).
        const into = mkdtempSync(join(base, 'untar-'));
        row.times.push(await timed(daemonPolicy('tar', ['-xf', rootfsTar, '-C', into]), rootfsTar, undefined, into));
        rmSync(into, { recursive: true, force: true });
        progress(i, key, row.times.at(-1));
        continue;
      }
      if (row.floor) {
        const into = mkdtempSync(join(base, 'floor-'));
        row.times.push(await timed(daemonPolicy(...floorScript(partTars, into, row.floor.reflink)), partTars, undefined, into));
        rmSync(into, { recursive: true, force: true });
        progress(i, key, row.times.at(-1));
        continue;
      }
      try {
        row.times.push(await onFreshDaemon(row.engine, row.driver, row.argv, row.input, row.check));
        progress(i, key, row.times.at(-1));
      } catch (err) {
        failed.set(key, err.message.split('\n')[0]);
        console.error(`${key} not measured: ${failed.get(key)}`);
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const of = (row, k) => row.times.map((t) => t[k]);
  const tarX = median(of(rows[0], 'wall'));
  const tarCpu = median(of(rows[0], 'cpu'));
  const tarCmd = median(of(rows[0], 'cmd'));
  const measured = rows.filter((r) => !failed.has(`${r.name} on ${r.driver}`) && r.times.length > 0);

  console.log(`runs per row: ${runs} (rows in a random order each round); 1-min load average at each round: ${loads.map((l) => l.toFixed(1)).join(' ')} (${cpus().length} CPUs)`);
  console.log('Before every timed command: sync, wait until the machine has < 32 MiB dirty/under writeback (max 10 s), input archive read into the page cache.');
  console.log('time = the command (tar, or the docker CLI: spawn → exit; the daemon is started before, fresh for every run) plus a sync -f of');
  console.log('  the filesystem it wrote: every row\'s data on disk in its time (berthd fsyncs; tar -x and dockerd do not); q1/q3 = quartiles');
  console.log('cmd s = the command alone, without that sync');
  console.log('cpu = CPU seconds of tar, or of the docker CLI plus the daemon (all threads, and the children it reaped), in that time');
  console.log('late cpu = daemon CPU seconds after the CLI exited (deferred work: not in time); sync = seconds a machine-wide sync took right after');
  console.log(['what'.padEnd(34), 'driver'.padEnd(8), 'median s', '   q1 s', '   q3 s', 'x tar -x', ' cmd s', 'cmd x tar', ' cpu s', 'cpu x tar', 'late cpu', ' sync s'].join(' | '));
  let worst = 0;
  for (const r of measured) {
    const s = median(of(r, 'wall'));
    const ratio = s / tarX;
    const cpu = median(of(r, 'cpu'));
    if (!r.baseline && !r.compare && !r.floor) worst = Math.max(worst, ratio);
    console.log([r.name.padEnd(34), r.driver.padEnd(8), s.toFixed(2).padStart(8), quantile(of(r, 'wall'), 0.25).toFixed(2).padStart(7),
      quantile(of(r, 'wall'), 0.75).toFixed(2).padStart(7), `${ratio.toFixed(2)}x`.padStart(8), median(of(r, 'cmd')).toFixed(2).padStart(6),
      `${(median(of(r, 'cmd')) / tarCmd).toFixed(2)}x`.padStart(9), cpu.toFixed(2).padStart(6),
      (tarCpu > 0 ? `${(cpu / tarCpu).toFixed(2)}x` : '-').padStart(9), (r.baseline ? '-' : median(of(r, 'deferred')).toFixed(2)).padStart(8),
      median(of(r, 'flush')).toFixed(2).padStart(7)].join(' | '));
  }
  const floors = measured.filter((r) => r.floor);
  const vfs5 = measured.find((r) => !r.baseline && !r.compare && !r.floor && !r.engine?.dockerd && r.driver === 'vfs' && r.name.startsWith('docker load (5'));
  if (vfs5 && floors.length) console.log(`berthd vfs load (5 layers) / shell floor (median time): ${floors.map((f) => `${f.name} ${(median(of(vfs5, 'wall')) / median(of(f, 'wall'))).toFixed(2)}x`).join('; ')}`);
  if (withDockerd) {
    // Each berthd row against dockerd's row for the same case and driver, medians of the same rounds.
    const pairs = measured.filter((r) => !r.baseline && !r.compare && !r.floor).map((r) => [r, measured.find((k) => k.engine?.dockerd && k.driver === r.driver && k.argv === r.argv)]).filter(([, k]) => k);
    console.log(`berthd / dockerd (median time): ${pairs.map(([r, k]) => `${r.name} (${r.driver}) ${(median(of(r, 'wall')) / median(of(k, 'wall'))).toFixed(2)}x`).join('; ')}`);
  }
  console.log(`runs s: ${measured.map((r) => `${r.name}${r.driver === '-' ? '' : ` (${r.driver})`}: ${of(r, 'wall').map((t) => t.toFixed(2)).join(' ')}`).join('; ')}`);
  if (measured.length > 1) {
    const failing = measured.filter((r) => !r.baseline && !r.compare && !r.floor && median(of(r, 'wall')) / tarX > TARGET_RATIO).map((r) => `${r.name} (${r.driver})`);
    console.log(`target (${kind}): berthd import/load at most ${TARGET_RATIO}x tar -x: ${failing.length === 0 && failed.size === 0 ? 'met' : `NOT met (worst ${worst.toFixed(2)}x; over: ${failing.join(', ') || 'none'}${failed.size ? `; not measured: ${[...failed.keys()].join(', ')}` : ''})`}`);
  }
  return failed.size;
}

async function main() {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is needed (Debian: busybox-static)`);
  if (spawnSync('docker', ['--version']).status !== 0) throw new Error('the docker CLI is needed');
  const unknown = kinds.filter((k) => !ROOTFS_KINDS[k]);
  if (unknown.length > 0) throw new Error(`unknown --rootfs ${unknown.join(',')} (known: ${Object.keys(ROOTFS_KINDS).join(', ')})`);
  let failures = 0;
  for (const kind of kinds) failures += await measure(kind);
  return failures === 0 ? 0 : 1;
}

// Interrupted: stop our daemons (by PID) and remove the temp dir before going.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const child of started) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    setTimeout(() => { rmSync(base, { recursive: true, force: true }); process.exit(130); }, 500);
  });
}

let code = 0;
try {
  code = await main();
} catch (err) {
  console.error(err.stack ?? err);
  code = 1;
} finally {
  for (const child of [...started]) await stop(child);
  rmSync(base, { recursive: true, force: true });
}
process.exit(code);
