#!/usr/bin/env node
// The stock docker CLI's own ceiling for `docker logs`: how fast it can
// take 50 MB of log frames from a server that does no work at all.
//
//   node bench/cli-logs-ceiling.mjs [--runs N]
//
// A minimal Engine API server on a temp unix socket answers the three
// requests `docker logs c` sends (/_ping, the container's inspect, its logs)
// from memory: the logs body is built once, before the clock starts, and
// written in 1 MiB slices as fast as the socket takes them. Measured, as
// bench/containers.mjs measures berthd (`docker logs c | wc -c`):
//   per entry   one multiplexed frame per log entry (100-byte lines), the
//               framing dockerd uses and Berth keeps: SDK users (docker-py's
//               logs(stream=True), dockerode) get one frame per line
//   64 KiB      the same bytes in 64 KiB frames, to show what the CLI's
//               per-frame work costs
// If "per entry" is below the 50 MB/s target of issue 4, no daemon that
// keeps dockerd's framing can reach it with this CLI.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { opt } from './lib/options.mjs';

const runs = Number(opt('--runs', 5)) || 5;
const TOTAL = 50 * 1000 * 1000;
const LINE = 100;
const API = '1.51';

/** One stdout frame: stream 1, three zero bytes, big-endian length, payload. */
function frame(payload) {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h.writeUInt32BE(payload.length, 4);
  return [h, payload];
}

/** TOTAL bytes of `y\n`-style lines, cut into frames of `frameBytes` (whole lines). */
function body(frameBytes) {
  const line = Buffer.from(`${'y'.repeat(LINE - 1)}\n`);
  const perFrame = Math.max(1, Math.floor(frameBytes / LINE));
  const payload = Buffer.concat(Array.from({ length: perFrame }, () => line));
  const parts = [];
  for (let left = TOTAL; left > 0; left -= payload.length) parts.push(...frame(left >= payload.length ? payload : payload.subarray(0, left)));
  return Buffer.concat(parts);
}

function serve(socketPath, logsBody) {
  const server = createServer((req, res) => {
    const headers = { 'Api-Version': API, 'Docker-Experimental': 'false', Ostype: 'linux', Server: 'ceiling' };
    const path = req.url.replace(/^\/v[0-9.]+/, '').split('?')[0];
    if (path === '/_ping') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
    } else if (path === '/containers/c/json') {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ Id: 'c'.repeat(64), Name: '/c', State: { Running: false, Status: 'exited' }, Config: { Tty: false }, HostConfig: { LogConfig: { Type: 'json-file' } } }));
    } else if (/^\/containers\/[^/]+\/logs$/.test(path)) {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      let off = 0;
      const pump = () => {
        while (off < logsBody.length) {
          const slice = logsBody.subarray(off, off + (1 << 20));
          off += slice.length;
          if (!res.write(slice)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else {
      res.writeHead(404, { ...headers, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'page not found' }));
    }
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-ceiling-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; docker ${spawnSync('docker', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
  for (const [name, frameBytes] of [['per entry', LINE], ['64 KiB', 64 * 1024]]) {
    const logsBody = body(frameBytes);
    const socketPath = join(dir, `${frameBytes}.sock`);
    const server = await serve(socketPath, logsBody);
    const env = { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: dir };
    const rates = [];
    for (let i = 0; i < runs; i++) {
      // The server runs in this process: the CLI is spawned asynchronously so the server can answer it.
      const t0 = performance.now();
      const out = await new Promise((resolve) => {
        const child = spawn('sh', ['-c', 'docker logs c | wc -c'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let s = '';
        child.stdout.on('data', (d) => { s += d; });
        child.on('exit', () => resolve(s.trim()));
      });
      const ms = performance.now() - t0;
      if (Number(out) !== TOTAL) throw new Error(`${name}: docker logs gave ${out} bytes, expected ${TOTAL}`);
      rates.push(TOTAL / 1e6 / (ms / 1000));
    }
    await new Promise((r) => server.close(r));
    console.log(`${name.padEnd(10)} ${String(logsBody.length - TOTAL).padStart(9)} header bytes  median ${median(rates).toFixed(1)} MB/s  (runs: ${rates.map((r) => r.toFixed(1)).join(' ')})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
