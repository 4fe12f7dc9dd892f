#!/usr/bin/env node
// The time networking adds to a container: `docker run --rm` on the default
// bridge (sandbox namespace, veth pair, address, route, /etc files) against
// the same run with `--network none`, measured interleaved in the same run
// against one berthd (issue 5's target: under 30 ms added).
//
//   node bench/network-run.mjs [--runs N]
//
// The daemon runs as the network tests run theirs: its own temp dirs, its
// own iptables chain prefix, default bridge name and address pool, no
// ip_forward change; it is stopped and its dirs removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { spawnDaemon } from './lib/spawn-daemon.mjs';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const runs = Number(args.includes('--runs') ? args[args.indexOf('--runs') + 1] : 15) || 15;
const TARGET_MS = 30;
const BUSYBOX = '/bin/busybox';

const base = mkdtempSync(join(tmpdir(), 'berth-bench-net-'));
let child;

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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is needed (Debian: busybox-static)`);
  const rootfs = join(base, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'etc'));
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'true']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  sh('tar', ['-C', rootfs, '-cf', join(base, 'rootfs.tar'), '.']);

  const tag = randomBytes(3).toString('hex');
  const socket = join(base, 'berth.sock');
  const cfg = join(base, 'daemon.json');
  writeFileSync(cfg, JSON.stringify({
    'ip-forward': false,
    dns: ['127.0.0.1'],
    'default-address-pools': [{ base: `10.${64 + (randomBytes(1)[0] % 180)}.0.0/16`, size: 24 }],
    berth: { plugins: { 'net-bridge': { chainPrefix: `BB${tag.toUpperCase()}` }, 'network-service': { defaultBridge: `bb${tag}0` } } },
  }));
  child = spawnDaemon(join(root, 'bin/berthd'), ['--config-file', cfg, '-H', `unix://${socket}`, '--data-root', join(base, 'data'), '--exec-root', join(base, 'exec'), '--pidfile', join(base, 'berthd.pid')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (Date.now() - t0 > 60_000) throw new Error('berthd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(base, 'docker-config') };
  const docker = (argv) => sh('docker', argv, { env });
  docker(['import', join(base, 'rootfs.tar'), 'bench:net']);
  const timed = (argv) => {
    const s = process.hrtime.bigint();
    docker(argv);
    return Number(process.hrtime.bigint() - s) / 1e6;
  };
  // Warm-up: page cache, the first bridge programming.
  timed(['run', '--rm', 'bench:net', 'true']);
  timed(['run', '--rm', '--network', 'none', 'bench:net', 'true']);
  const bridge = [];
  const none = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, alternating which goes first, so load changes hit both alike.
    if (i % 2 === 0) {
      bridge.push(timed(['run', '--rm', 'bench:net', 'true']));
      none.push(timed(['run', '--rm', '--network', 'none', 'bench:net', 'true']));
    } else {
      none.push(timed(['run', '--rm', '--network', 'none', 'bench:net', 'true']));
      bridge.push(timed(['run', '--rm', 'bench:net', 'true']));
    }
  }
  const mb = median(bridge);
  const mn = median(none);
  const pairs = bridge.map((b, i) => b - none[i]);
  console.log(`runs: ${runs} each, interleaved; times are the docker CLI command (spawn → exit)`);
  console.log(`docker run --rm (default bridge)      median ${mb.toFixed(1)} ms`);
  console.log(`docker run --rm --network none        median ${mn.toFixed(1)} ms`);
  console.log(`added by the bridge: ${(mb - mn).toFixed(1)} ms (median of pairwise differences ${median(pairs).toFixed(1)} ms), ratio ${(mb / mn).toFixed(3)}`);
  console.log(`target: < ${TARGET_MS} ms added: ${median(pairs) < TARGET_MS ? 'met' : 'NOT met'}`);
}

async function stop() {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }
  rmSync(base, { recursive: true, force: true });
}

main().then(stop, async (err) => {
  console.error(err);
  await stop();
  process.exit(1);
});
