#!/usr/bin/env node
// The stock docker CLI's own limits: what `docker run --rm`, `docker exec`
// and `docker logs` cost when the daemon does no work at all.
//
//   node bench/cli-limits.mjs [--runs N] [--only run,exec,logs] [--trace]
//
// A minimal Engine API server on a temp unix socket answers the requests the
// CLI sends, from memory, at once (--trace prints them):
//   run   `docker run --rm x true`: create, attach (hijacked), wait
//         (condition=removed), start; the "container" exits as it starts:
//         the attach stream closes and wait answers StatusCode 0. The CLI's
//         floor for a run; a daemon adds the runtime (bare `runc run`, see
//         bench/containers.mjs) and its own work on top.
//   exec  `docker exec c true`: exec create, exec start (hijacked, closed at
//         once), exec inspect (ExitCode 0). The CLI's floor for an exec.
//   logs  50 MB of log entries through `docker logs c | wc -c`, as
//         bench/containers.mjs measures berthd: once with one multiplexed frame
//         per 100-byte entry (dockerd's framing, which Berth keeps: SDK users,
//         docker-py's logs(stream=True), dockerode, get one frame per line), once
//         in 64 KiB frames, to show what the CLI's per-frame work costs. The
//         body is built before the clock starts and written in 1 MiB slices.
// Times are medians of N runs of the CLI process, spawn to exit.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, opt } from './lib/options.mjs';
import { median } from './lib/stats.mjs';

const runs = Number(opt('--runs', 10)) || 10;
const SECTIONS = ['run', 'exec', 'logs'];
const only = opt('--only', null) === null ? SECTIONS : opt('--only').split(',');
for (const s of only) if (!SECTIONS.includes(s)) { console.error(`--only: unknown section ${s} (sections: ${SECTIONS.join(', ')})`); process.exit(2); }
const trace = args.includes('--trace');
const API = '1.51';
const LOG_BYTES = 50 * 1000 * 1000;
const LINE = 100;
const ID = 'c'.repeat(64);
const EXEC_ID = 'e'.repeat(64);

/** One stdout frame: stream 1, three zero bytes, big-endian length, payload. */
function frame(payload) {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h.writeUInt32BE(payload.length, 4);
  return [h, payload];
}

/** LOG_BYTES of 100-byte lines, cut into frames of `frameBytes` (whole lines). */
function logsBody(frameBytes) {
  const line = Buffer.from(`${'y'.repeat(LINE - 1)}\n`);
  const payload = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(frameBytes / LINE)) }, () => line));
  const parts = [];
  for (let left = LOG_BYTES; left > 0; left -= payload.length) parts.push(...frame(left >= payload.length ? payload : payload.subarray(0, left)));
  return Buffer.concat(parts);
}

const HEADERS = { 'Api-Version': API, 'Docker-Experimental': 'false', Ostype: 'linux', Server: 'cli-limits' };

function json(res, status, body) {
  res.writeHead(status, { ...HEADERS, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Answers with 101 and hands back the raw socket, as dockerd's hijacked endpoints. */
function hijack(req, res) {
  const socket = req.socket;
  res.detachSocket?.(socket);
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API}\r\n\r\n`);
  return socket;
}

/** The do-nothing daemon. `logs` is the body GET .../logs answers with. */
function serve(socketPath, logs) {
  let attached = null; // the run's hijacked attach socket, closed when the "container" exits
  let waiting = null; // the run's wait response, answered when it exits
  const exit = () => {
    if (waiting) { waiting.end(JSON.stringify({ StatusCode: 0, Error: null })); waiting = null; }
    if (attached) { attached.end(); attached = null; }
  };
  const server = createServer((req, res) => {
    if (trace) console.error(req.method, req.url);
    const path = req.url.replace(/^\/v[0-9.]+/, '').split('?')[0];
    if (path === '/_ping') {
      res.writeHead(200, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : 'OK');
    } else if (path === '/containers/create') {
      req.resume();
      req.on('end', () => json(res, 201, { Id: ID, Warnings: [] }));
    } else if (/^\/containers\/[^/]+\/attach$/.test(path)) {
      attached = hijack(req, res);
    } else if (/^\/containers\/[^/]+\/wait$/.test(path)) {
      // As dockerd: the headers go out at once (the CLI's ContainerWait returns on them), the body at the exit.
      res.writeHead(200, { ...HEADERS, 'Content-Type': 'application/json' });
      res.flushHeaders();
      waiting = res;
    } else if (/^\/containers\/[^/]+\/start$/.test(path)) {
      res.writeHead(204, HEADERS);
      res.end();
      setImmediate(exit);
    } else if (/^\/containers\/[^/]+\/json$/.test(path)) {
      json(res, 200, { Id: ID, Name: '/c', State: { Running: true, Status: 'running', Pid: 1 }, Config: { Tty: false }, HostConfig: { LogConfig: { Type: 'json-file' } } });
    } else if (/^\/containers\/[^/]+\/exec$/.test(path)) {
      req.resume();
      req.on('end', () => json(res, 201, { Id: EXEC_ID }));
    } else if (/^\/exec\/[^/]+\/start$/.test(path)) {
      req.resume();
      req.on('end', () => hijack(req, res).end());
    } else if (/^\/exec\/[^/]+\/json$/.test(path)) {
      json(res, 200, { ID: EXEC_ID, Running: false, ExitCode: 0, Pid: 0 });
    } else if (/^\/containers\/[^/]+\/logs$/.test(path)) {
      res.writeHead(200, { ...HEADERS, 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      let off = 0;
      const pump = () => {
        while (off < logs.length) {
          const slice = logs.subarray(off, off + (1 << 20));
          off += slice.length;
          if (!res.write(slice)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else {
      json(res, 404, { message: 'page not found' });
    }
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

/** Runs `sh -c cmd` (asynchronously: the server answers from this process); ms and stdout. */
function time(cmd, env) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out: out.trim() }) : reject(new Error(`${cmd}: exit ${code}: ${err}`))));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-limits-'));
let n = 0;
/** Starts a do-nothing server, runs `cmd` N times against it, checks each output. */
async function measure(cmd, logs, check) {
  const socketPath = join(dir, `${n++}.sock`);
  const server = await serve(socketPath, logs);
  const env = { ...process.env, DOCKER_HOST: `unix://${socketPath}`, DOCKER_CONFIG: dir };
  try {
    const ms = [];
    for (let i = 0; i < runs; i++) {
      const r = await time(cmd, env);
      check(r.out);
      ms.push(r.ms);
    }
    return ms;
  } finally {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
}

try {
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${spawnSync('docker', ['--version'], { encoding: 'utf8' }).stdout.trim()}; ${runs} runs`);
  const empty = Buffer.alloc(0);
  if (only.includes('run')) {
    const ms = await measure('docker run --rm x true', empty, (out) => { if (out !== '') throw new Error(`run printed ${out}`); });
    console.log(`docker run --rm x true   median ${median(ms).toFixed(1)} ms  min ${Math.min(...ms).toFixed(1)}`);
  }
  if (only.includes('exec')) {
    const ms = await measure('docker exec c true', empty, (out) => { if (out !== '') throw new Error(`exec printed ${out}`); });
    console.log(`docker exec c true       median ${median(ms).toFixed(1)} ms  min ${Math.min(...ms).toFixed(1)}`);
  }
  if (only.includes('logs')) {
    for (const [name, frameBytes] of [['one frame per entry', LINE], ['64 KiB frames', 64 * 1024]]) {
      const ms = await measure('docker logs c | wc -c', logsBody(frameBytes), (out) => { if (Number(out) !== LOG_BYTES) throw new Error(`docker logs gave ${out} bytes, expected ${LOG_BYTES}`); });
      const rates = ms.map((t) => LOG_BYTES / 1e6 / (t / 1000));
      console.log(`docker logs, ${name.padEnd(19)} median ${median(rates).toFixed(1)} MB/s  (runs: ${rates.map((r) => r.toFixed(1)).join(' ')})`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
