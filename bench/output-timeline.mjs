#!/usr/bin/env node
// Where the time of 50 MB through an attached `docker run` goes: one run's
// timeline and the CPU of each process in it.
//
//   node bench/output-timeline.mjs [--runs N] [--compare DIR] [--bytes MB] [--strace [--events]]
//        [--perf DIR] [--cpu-prof DIR] [--node-flags '...'] [--daemon-json '{...}'] [--run-args '...']
//
// A fresh berthd (this checkout's build, and with --compare DIR another
// checkout's, interleaved run by run) on its own temp dirs runs
// `docker run <busybox> sh -c 'yes <99 x> | head -c 50M' | wc -c`. A sampler
// (every 2 ms) records the spool's and the json-file log's size and the CPU
// time of conmon, of the container's processes and of berthd; the CLI runs
// under /usr/bin/time. Printed per run (ms from the CLI's spawn):
//   containerGone  the container's last process gone (its output written)
//   spoolFull      the spool reached its largest size (conmon has written it all)
//   logDone        the log reached its final size (berthd has read and logged it all)
//   logPctAtGone   how much of the log was written when the container was gone
//   wall           the CLI is done
// then the CPU (ms) of berthd (all threads), conmon, the container and the CLI,
// and berthd's minor page faults. --strace traces berthd's spool reads and
// socket writes (counts, last times) with `strace --seccomp-bpf -y`, which
// slows it: its figures are for the shape of the timeline, not for rates;
// with --events it prints the run's process starts and ends, berthd's small
// socket writes, shutdowns and closes (STRACE_SET=trace=... chooses berthd's
// calls). --perf DIR records `perf record -g` of berthd per run; --cpu-prof DIR
// and --node-flags start berthd through node with those flags. Run the bench
// itself under `chrt -f 10` on a loaded machine; the daemons keep the normal
// policy. Everything started is stopped by PID and the temp dirs removed.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { args, opt, root } from './lib/options.mjs';
import { spawnDaemon, stopDaemons } from './lib/spawn-daemon.mjs';

const runs = Number(opt('--runs', 3)) || 3;
const useStrace = args.includes('--strace');
const compare = opt('--compare', null) === null ? null : resolve(opt('--compare'));
const cpuProf = opt('--cpu-prof', null) === null ? null : resolve(opt('--cpu-prof'));
const nodeFlags = (opt('--node-flags', '') ?? '').split(' ').filter(Boolean);
const runArgs = opt('--run-args', '');
const perfDir = opt('--perf', null) === null ? null : resolve(opt('--perf'));
if (perfDir) mkdirSync(perfDir, { recursive: true });
const BYTES = Math.round(Number(opt('--bytes', 50)) * 1024 * 1024);
const IMAGE = 'bbox:timeline';
const base = mkdtempSync(join(tmpdir(), 'berth-output-timeline-'));
const started = [];

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

function makeRootfsTar() {
  const rootfs = join(base, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  sh('chmod', ['0755', join(rootfs, 'bin/busybox')]);
  for (const a of ['sh', 'yes', 'head', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
  const tar = join(base, 'rootfs.tar');
  sh('tar', ['-C', rootfs, '--numeric-owner', '-cf', tar, 'bin', 'etc', 'tmp']);
  return tar;
}

function ping(socketPath) {
  return new Promise((r) => {
    const req = request({ socketPath, path: '/_ping', agent: false }, (res) => { res.resume(); r(res.statusCode === 200); });
    req.on('error', () => r(false));
    req.end();
  });
}

async function startBerthd(checkout, name) {
  const dir = mkdtempSync(join(base, `${name}-`));
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, JSON.stringify({ bridge: 'none', iptables: false, 'ip-forward': false, ...JSON.parse(opt('--daemon-json', '{}')) }));
  const argv = ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid')];
  if (cpuProf) mkdirSync(join(cpuProf, name), { recursive: true });
  const flags = [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProf, name)] : []), ...nodeFlags];
  const [cmd, cmdArgs] = flags.length ? [process.execPath, [...flags, join(checkout, 'bin/launch.cjs'), ...argv]] : [join(checkout, 'bin/berthd'), argv];
  const child = spawnDaemon(cmd, cmdArgs, { stdio: ['ignore', nodeFlags.length ? 'inherit' : 'ignore', 'inherit'] });
  const entry = { pid: child.pid, exited: new Promise((r) => child.once('exit', r)) };
  started.push(entry);
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`${name} exited`);
    if (Date.now() - t0 > 60_000) throw new Error(`${name} did not answer /_ping`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Under chrt, spawnDaemon's child is chrt, which execs berthd: same pid.
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') };
  return { name, dir, socket, pid: child.pid, env };
}

/** CPU ns of a process (all threads), or undefined when it is gone. */
function cpuNs(pid) {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch { /* thread gone */ }
    }
    return ns;
  } catch {
    return undefined;
  }
}

/** Minor page faults of a process so far (field 10 of /proc/<pid>/stat). */
function minorFaults(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
}

function childrenOf(pid) {
  const out = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (c) out.push(...c.split(' ').map(Number));
    }
  } catch { /* gone */ }
  return out;
}

/** The long-lived conmon of container `id` (its pid file; the first conmon double-forks). */
function findConmon(d, id) {
  const r = spawnSync('find', [join(d.dir, 'exec'), '-path', `*${id}/conmon.pid`], { encoding: 'utf8' });
  const file = r.stdout.trim().split('\n')[0];
  if (!file) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 ? pid : undefined;
}

function findFile(dir, name) {
  const r = spawnSync('find', [dir, '-name', name], { encoding: 'utf8' });
  return r.stdout.trim().split('\n')[0] || undefined;
}

function findSpool(dir, id) {
  const r = spawnSync('find', [dir, '-path', `*${id}/output.log`], { encoding: 'utf8' });
  return r.stdout.trim().split('\n')[0] || undefined;
}

async function oneRun(d, runNo) {
  const cid = join(d.dir, `cid-${runNo}`);
  const timeOut = join(d.dir, `time-${runNo}`);
  const straceOut = join(d.dir, `strace-${runNo}`);
  let strace;
  if (useStrace) {
    strace = [spawn('strace', ['-f', '--seccomp-bpf', '-qq', '-ttt', '-y', '-e', process.env.STRACE_SET ?? 'trace=pread64,write,writev,shutdown,close,inotify_add_watch', '-e', 'signal=none', '-s', '24', '-o', straceOut, '-p', String(d.pid)], { stdio: 'ignore' })];
    // The processes the spawn helper starts (conmon, runc, the container): their starts and ends only.
    const helper = childrenOf(d.pid).find((p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('berthd-spawner'); } catch { return false; } });
    if (helper) strace.push(spawn('strace', ['-f', '--seccomp-bpf', '-qq', '-ttt', '-e', 'trace=execve,exit_group', '-e', 'signal=none', '-s', '40', '-o', `${straceOut}.procs`, '-p', String(helper)], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));
  }
  let perf;
  if (perfDir) {
    perf = spawn('perf', ['record', '-q', '-F', '1999', '-g', '-o', join(perfDir, `${d.name}-${runNo}.data`), '-p', String(d.pid)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
  }
  const script = `yes ${'x'.repeat(99)} | head -c ${BYTES}`;
  const berthd0 = cpuNs(d.pid);
  const flt0 = minorFaults(d.pid);
  const t0 = performance.now();
  const cli = spawn('sh', ['-c', `/usr/bin/time -f '%e %U %S' -o ${timeOut} docker run --cidfile ${cid} --name out${runNo} ${runArgs} ${IMAGE} sh -c '${script}' | wc -c`], { env: d.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  cli.stdout.on('data', (b) => (out += b));
  const exited = new Promise((r) => cli.once('exit', r));
  let done = false;
  void exited.then(() => (done = true));
  // Sampler.
  let id;
  let spool;
  let conmon;
  let conmonCpu = 0;
  const ctrCpu = new Map();
  let lastSize = -1;
  let logFile;
  let lastLog = -1;
  let logDoneAt;
  let logAtGone;
  let containerGoneAt;
  let ctrSeen = false;
  const curve = [];
  while (!done) {
    const now = performance.now() - t0;
    if (!id && existsSync(cid)) id = readFileSync(cid, 'utf8').trim() || undefined;
    if (id && !spool) spool = findSpool(d.dir, id);
    if (id && !conmon) conmon = findConmon(d, id);
    if (id && !logFile) logFile = findFile(d.dir, `${id}-json.log`);
    if (logFile) {
      let size = lastLog;
      try { size = statSync(logFile).size; } catch { /* removed */ }
      if (size !== lastLog) { lastLog = size; logDoneAt = now; }
      if (containerGoneAt !== undefined && logAtGone === undefined) logAtGone = size;
    }
    if (spool) {
      let size = lastSize;
      try { size = statSync(spool).size; } catch { /* removed */ }
      if (size !== lastSize) {
        lastSize = size;
        curve.push([now, size]);
      }
    }
    if (conmon) {
      const c = cpuNs(conmon);
      if (c !== undefined) conmonCpu = c;
      const procs = [];
      const walk = (p) => { for (const k of childrenOf(p)) { procs.push(k); walk(k); } };
      walk(conmon);
      for (const p of procs) {
        const c2 = cpuNs(p);
        if (c2 !== undefined) ctrCpu.set(p, c2);
      }
      if (procs.length) ctrSeen = true;
      else if (ctrSeen && containerGoneAt === undefined) containerGoneAt = now;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const wall = performance.now() - t0;
  const berthdCpu = (cpuNs(d.pid) - berthd0) / 1e6;
  const berthdFaults = minorFaults(d.pid) - flt0;
  if (strace) {
    await new Promise((r) => setTimeout(r, 200));
    for (const st of strace) {
      st.kill('SIGINT');
      await new Promise((r) => st.once('exit', r));
    }
    if (args.includes('--events')) printEvents(straceOut, t0);
  }
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('exit', r));
  }
  if (Number(out.trim()) !== BYTES) throw new Error(`docker run gave ${out.trim()} bytes`);
  const [, user, sys] = readFileSync(timeOut, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  // The spool is full at the last growth to its largest size (it may be emptied after the last read).
  let full = NaN;
  let max = -1;
  for (const [at, size] of curve) if (size > max) { max = size; full = at; }
  const row = { wall, containerGone: containerGoneAt, spoolFull: full, logDone: logDoneAt, logPctAtGone: logAtGone === undefined ? undefined : (100 * logAtGone) / lastLog, berthdCpu, berthdFaults, conmonCpu: conmonCpu / 1e6, ctrCpu: [...ctrCpu.values()].reduce((a, b) => a + b, 0) / 1e6, cliCpu: (user + sys) * 1000 };
  if (strace) Object.assign(row, straceFacts(straceOut, t0));
  sh('docker', ['rm', '-f', `out${runNo}`], { env: d.env });
  return row;
}

/** The run's processes (starts, ends) and berthd's socket writes, shutdowns and closes, in time order. */
function printEvents(file, t0) {
  const origin = performance.timeOrigin;
  const ev = [];
  const at = (secs) => Number(secs) * 1000 - origin - t0;
  for (const line of (existsSync(`${file}.procs`) ? readFileSync(`${file}.procs`, 'utf8') : '').split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (m) ev.push([at(m[2]), `pid ${m[1]} ${m[3].slice(0, 120)}`]);
  }
  let bulk = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(\w+)\((\d+)<([^>]*)>(.*)$/.exec(line);
    if (!m) continue;
    const [, tid, secs, call, , what, rest] = m;
    const ret = Number(/=\s+(-?\d+)/.exec(rest)?.[1] ?? 0);
    if (call === 'pread64' || what.endsWith('-json.log') || what.includes('eventfd')) continue;
    if ((call === 'write' || call === 'writev') && ret > 1000) { bulk++; continue; }
    ev.push([at(secs), `berthd[${tid}] ${call}(${what}${rest.slice(0, 100)}`]);
  }
  ev.sort((a, b) => a[0] - b[0]);
  for (const [t, s] of ev) console.log(`${t.toFixed(1).padStart(9)}  ${s}`);
  console.log(`(${bulk} bulk socket writes left out)`);
}

/** Times (ms after the CLI's spawn) of berthd's last spool read and last socket write, and their counts. */
function straceFacts(file, t0) {
  // strace -ttt prints wall-clock seconds; performance.now() is relative to timeOrigin.
  const origin = performance.timeOrigin;
  let lastRead = 0, reads = 0, lastSock = 0, sockWrites = 0, logWrites = 0, firstRead = 0, readBytes = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\d+\s+(\d+\.\d+)\s+(\w+)\((\d+)<([^>]*)>/.exec(line);
    if (!m) continue;
    const at = Number(m[1]) * 1000 - origin - t0;
    const [, , call, , what] = m;
    const ret = Number(/=\s+(-?\d+)/.exec(line)?.[1] ?? 0);
    if (call === 'pread64' && what.endsWith('output.log')) { reads++; lastRead = at; readBytes += Math.max(0, ret); if (!firstRead) firstRead = at; }
    else if ((call === 'write' || call === 'writev') && what.startsWith('socket:')) { if (ret > 1000) { sockWrites++; lastSock = at; } }
    else if ((call === 'write' || call === 'writev') && what.endsWith('-json.log')) logWrites++;
  }
  return { firstRead, lastRead, reads, readKiB: readBytes / Math.max(1, reads) / 1024, lastSock, sockWrites, logWrites };
}

const fmt = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0));
try {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} runs${useStrace ? ', strace' : ''}`);
  const tar = makeRootfsTar();
  const daemons = [await startBerthd(root, 'this')];
  if (compare) daemons.push(await startBerthd(compare, 'other'));
  for (const d of daemons) {
    sh('docker', ['import', '-c', 'CMD ["sh"]', tar, IMAGE], { env: d.env });
    // A first container starts the daemon's helpers (spawner, mount helper): not part of any run.
    sh('docker', ['run', '--rm', IMAGE, 'true'], { env: d.env });
  }
  const rows = daemons.map(() => []);
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [...daemons.keys()].reverse() : [...daemons.keys()];
    for (const k of order) rows[k].push(await oneRun(daemons[k], i));
  }
  const cols = ['wall', 'containerGone', 'spoolFull', 'logDone', 'logPctAtGone', ...(useStrace ? ['firstRead', 'lastRead', 'lastSock', 'reads', 'readKiB', 'sockWrites', 'logWrites'] : []), 'berthdCpu', 'berthdFaults', 'conmonCpu', 'ctrCpu', 'cliCpu'];
  console.log(`${'build'.padEnd(6)} ${cols.map((c) => c.padStart(13)).join(' ')}   MB/s`);
  for (const [k, d] of daemons.entries()) {
    for (const r of rows[k]) console.log(`${d.name.padEnd(6)} ${cols.map((c) => fmt(r[c]).padStart(13)).join(' ')}   ${(BYTES / 1e6 / (r.wall / 1000)).toFixed(1)}`);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [k, d] of daemons.entries()) {
    console.log(`${d.name.padEnd(6)} median ${cols.map((c) => `${c} ${fmt(med(rows[k].map((r) => r[c])))}`).join(', ')}; ${(BYTES / 1e6 / (med(rows[k].map((r) => r.wall)) / 1000)).toFixed(1)} MB/s`);
  }
} finally {
  await stopDaemons(started);
  rmSync(base, { recursive: true, force: true });
}
