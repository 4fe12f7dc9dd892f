#!/usr/bin/env node
// `docker pull` of a ~200 MB, 5-layer image from a local registry into
// berthd, against the raw work it stands for, in the same run:
//   baseline = curl of the same blobs (3 at a time, as max-concurrent-downloads)
//              + `tar -xzf` of each into one fresh directory, in order
//
//   node bench/registry-pull.mjs [--runs N] [--size MB] [--drivers vfs,overlay2] [--cpu-prof DIR]
//
// The registry is Debian's docker-registry on 127.0.0.1 (own config and
// temp storage, stopped by PID). The image's files are half random bytes,
// half text-like data, so gzip does real work as with real images. Each
// berthd pull runs on a fresh daemon (nothing present); the time is the
// docker CLI command alone. Figures are medians; ratios are against the
// baseline median measured here.
import { spawn, spawnSync } from 'node:child_process';
import { spawnDaemon } from './lib/spawn-daemon.mjs';
import { args, opt, root } from './lib/options.mjs';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(opt('--runs', 3)) || 3;
const targetMiB = Number(opt('--size', 200)) || 200;
const drivers = String(opt('--drivers', 'vfs,overlay2')).split(',').filter(Boolean);
const cpuProfDir = opt('--cpu-prof', null);
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
const TARGET_RATIO = 1.5;
const PARTS = 5;
const base = mkdtempSync(join(tmpdir(), 'berth-bench-pull-'));
const started = new Set();

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');
function textLike(size) {
  const parts = [];
  let n = 0;
  while (n < size) { const w = words[Math.floor(Math.random() * words.length)] + (Math.random() < 0.1 ? '\n' : ' '); parts.push(w); n += w.length; }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** Five layer dirs of mixed-size files, ~targetMiB in total. */
function makeLayers() {
  const total = targetMiB * 1024 * 1024;
  const dirs = [];
  for (let p = 0; p < PARTS; p++) dirs.push(join(base, `layer${p}`));
  let left = total;
  let n = 0;
  while (left > 0) {
    const r = Math.random();
    const size = r < 0.6 ? 512 + Math.floor(Math.random() * 16384) : r < 0.95 ? (64 << 10) + Math.floor(Math.random() * (1 << 20)) : (4 << 20) + Math.floor(Math.random() * (8 << 20));
    const dir = join(dirs[n % PARTS], 'usr', 'share', `d${n % 37}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${n}.bin`), n % 2 === 0 ? randomBytes(size) : textLike(size));
    left -= size;
    n++;
  }
  return dirs;
}

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve('sha256:' + h.digest('hex')));
  });
}

function httpJson(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => { const c = []; res.on('data', (d) => c.push(d)); res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(c) })); });
    req.on('error', reject);
    if (body && typeof body.pipe === 'function') body.pipe(req); else req.end(body);
  });
}

async function uploadFile(reg, repo, path, digest) {
  const start = await httpJson('POST', `http://${reg}/v2/${repo}/blobs/uploads/`);
  const loc = new URL(start.headers.location, `http://${reg}`);
  loc.searchParams.set('digest', digest);
  const put = await httpJson('PUT', loc, createReadStream(path), { 'Content-Length': String(statSync(path).size), 'Content-Type': 'application/octet-stream' });
  if (put.status !== 201) throw new Error(`upload ${put.status} ${put.body}`);
}

function freePort() {
  return new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

async function startRegistry() {
  const dir = mkdtempSync(join(base, 'registry-'));
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawnDaemon('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  started.add(child);
  for (let i = 0; i < 200; i++) {
    const ok = await httpJson('GET', `http://127.0.0.1:${port}/v2/`).then(() => true, () => false);
    if (ok) return { host: `127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start');
}

const ping = (socketPath) => new Promise((resolve) => {
  const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
  req.on('error', () => resolve(false));
  req.on('timeout', () => { req.destroy(); resolve(false); });
  req.end();
});

async function startBerthd(driver) {
  const dir = mkdtempSync(join(base, `berthd-${driver}-`));
  const socket = join(dir, 'berth.sock');
  const cfg = join(dir, 'daemon.json');
  writeFileSync(cfg, '{"bridge":"none","iptables":false,"ip-forward":false}\n'); // no host networking: benches may run side by side
  const argv = ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'berthd.pid'), '--storage-driver', driver];
  // --cpu-prof DIR: the daemons run under `node --cpu-prof` (timings then not comparable).
  const child = cpuProfDir
    ? spawnDaemon(process.execPath, ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, join(root, 'bin/launch.cjs'), ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawnDaemon(join(root, 'bin/berthd'), argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  started.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`berthd exited: ${stderr}`);
    if (Date.now() - t0 > 30_000) throw new Error(`berthd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const docker = (argv) => sh('docker', argv, { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') } });
  return { dir, child, docker };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) { started.delete(child); return; }
  const done = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => { if (child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, 15_000);
  await done;
  clearTimeout(t);
  started.delete(child);
}

function timed(fn) {
  sh('sync', []);
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

/** CPU seconds (user+system) of a process, or of this process's waited-for children with `children`. */
function cpuOf(pid, children = false) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f.slice(f.lastIndexOf(')') + 2).split(' ').map(Number);
  // fields after ")": state=0 … utime=11 stime=12 cutime=13 cstime=14
  return (children ? v[13] + v[14] : v[11] + v[12]) / 100;
}

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; }

async function main() {
  console.log(`making a ~${targetMiB} MB image in ${PARTS} layers …`);
  const dirs = makeLayers();
  const reg = await startRegistry();
  const layers = [];
  for (let i = 0; i < PARTS; i++) {
    const tar = join(base, `layer${i}.tar`);
    sh('tar', ['-C', dirs[i], '--numeric-owner', '-cf', tar, '.']);
    const diffId = await sha256File(tar);
    sh('gzip', ['-6', '-n', tar]);
    const gz = `${tar}.gz`;
    const digest = await sha256File(gz);
    await uploadFile(reg.host, 'bench/big', gz, digest);
    layers.push({ diffId, digest, size: statSync(gz).size, gz });
    rmSync(dirs[i], { recursive: true, force: true });
  }
  const created = '2024-05-06T07:08:09Z';
  const config = Buffer.from(JSON.stringify({
    architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', created, config: { Cmd: ['/bin/sh'] },
    history: layers.map((_, i) => ({ created, created_by: `bench layer ${i}` })),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const cfgPath = join(base, 'config.json');
  writeFileSync(cfgPath, config);
  const configId = 'sha256:' + createHash('sha256').update(config).digest('hex');
  await uploadFile(reg.host, 'bench/big', cfgPath, configId);
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configId },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.size, digest: l.digest })),
  });
  const put = await httpJson('PUT', `http://${reg.host}/v2/bench/big/manifests/1`, manifest, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' });
  if (put.status !== 201) throw new Error(`manifest put ${put.status}`);
  const compressed = layers.reduce((n, l) => n + l.size, 0);
  for (const l of layers) rmSync(l.gz);
  console.log(`image: ${layers.length} layers, ${(compressed / 1e6).toFixed(1)} MB compressed`);

  const baseline = () => {
    const out = mkdtempSync(join(base, 'curl-'));
    const urls = layers.map((l, i) => `http://${reg.host}/v2/bench/big/blobs/${l.digest} ${join(out, `b${i}`)}`);
    const c0 = cpuOf(process.pid, true);
    const s = timed(() => {
      sh('sh', ['-c', `printf '%s\\n' ${urls.map((u) => `'${u}'`).join(' ')} | xargs -P3 -L1 sh -c 'curl -sf -o "$1" "$0"'`]);
      mkdirSync(join(out, 'root'));
      for (let i = 0; i < layers.length; i++) sh('tar', ['-C', join(out, 'root'), '-xzf', join(out, `b${i}`)]);
    });
    results.baselineCpu.push(cpuOf(process.pid, true) - c0);
    rmSync(out, { recursive: true, force: true });
    return s;
  };
  const results = { baseline: [], baselineCpu: [] };
  for (const d of drivers) { results[d] = []; results[`${d}Cpu`] = []; }
  for (let r = 0; r < runs; r++) {
    results.baseline.push(baseline());
    for (const driver of drivers) {
      const d = await startBerthd(driver);
      try {
        const c0 = cpuOf(d.child.pid);
        results[driver].push(timed(() => d.docker(['pull', '-q', `${reg.host}/bench/big:1`])));
        results[`${driver}Cpu`].push(cpuOf(d.child.pid) - c0);
        const id = d.docker(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/bench/big:1`]).trim();
        if (id !== configId) throw new Error(`pulled image ID ${id}, expected ${configId}`);
      } finally {
        await stop(d.child);
        rmSync(d.dir, { recursive: true, force: true });
      }
    }
  }
  const b = median(results.baseline);
  const bc = median(results.baselineCpu);
  console.log(`\nmedians over ${runs} runs (${(compressed / 1e6).toFixed(0)} MB compressed, ~${targetMiB} MB unpacked; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}):`);
  console.log(`  curl + tar -xzf (baseline)  wall ${b.toFixed(2)} s   cpu ${bc.toFixed(2)} s`);
  for (const driver of drivers) {
    const m = median(results[driver]);
    const mc = median(results[`${driver}Cpu`]);
    console.log(`  docker pull (${driver.padEnd(8)})     wall ${m.toFixed(2)} s   cpu ${mc.toFixed(2)} s   wall ${(m / b).toFixed(2)}x   cpu ${(mc / bc).toFixed(2)}x   ${m / b <= TARGET_RATIO ? 'within' : 'OVER'} the ${TARGET_RATIO}x target (wall)`);
  }
}

try {
  await main();
} finally {
  for (const c of [...started]) await stop(c).catch(() => {});
  rmSync(base, { recursive: true, force: true });
}
