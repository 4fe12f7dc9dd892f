#!/usr/bin/env node
// Bundles the compiled daemon (dist/cmd/berthd/main.js) into one CommonJS
// file, dist/berthd.cjs, then records V8's code cache for it
// (dist/berthd.cache) from one real start-up (see recordCodeCache). Resolving and
// compiling several hundred module files of koa and inversify at every start
// costs more than the daemon's own start-up; one pre-linked, pre-compiled
// file is what makes berthd start fast (bin/launch.cjs loads it).
// tsc runs first, so decorator metadata is already emitted.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyBuiltins } from './lazy-builtins.mjs';
import { lazyDebug } from './lazy-debug.mjs';
import { lazyPackages } from './lazy-packages.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * koa's helpers (mime-types, type-is, accepts) index all ~2,500 entries of
 * mime-db at load time, a fifth of berthd's start-up. berthd sets every
 * Content-Type explicitly; koa itself only looks up the few short names
 * below (`ctx.type = 'json'` and friends), so the bundle carries just those.
 */
const MIME_TYPES_USED = [
  'application/json', 'application/octet-stream', 'application/x-tar', 'application/gzip',
  'application/x-ndjson', 'text/html', 'text/plain',
];
const slimMimeDb = {
  name: 'slim-mime-db',
  setup(b) {
    b.onLoad({ filter: /[\\/]mime-db[\\/]db\.json$/ }, (args) => {
      const all = JSON.parse(readFileSync(args.path, 'utf8'));
      const kept = Object.fromEntries(MIME_TYPES_USED.filter((t) => all[t]).map((t) => [t, all[t]]));
      return { contents: JSON.stringify(kept), loader: 'json' };
    });
  },
};
rmSync(`${root}dist/berthd.cache`, { force: true });
// What both bundles are built with.
const nodeBundle = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};
await build({
  ...nodeBundle,
  entryPoints: [`${root}dist/cmd/berthd/main.js`],
  outfile: `${root}dist/berthd.cjs`,
  legalComments: 'linked',
  plugins: [slimMimeDb, lazyBuiltins, lazyDebug, lazyPackages],
  // tar-apply-thread.ts reads import.meta.url only when not bundled (it uses __dirname in the bundle).
  logOverride: { 'empty-import-meta': 'silent' },
  // `docker version`'s "Built" is when the bundle was made, not when the daemon started.
  define: { 'process.env.BERTH_BUILD_TIME': JSON.stringify(new Date().toISOString()) },
});
// The layer unpacker's worker thread (plugins/graph-common/tar-apply-thread.ts loads it from next to the bundle).
await build({
  entryPoints: [`${root}dist/plugins/graph-common/tar-apply-worker.js`],
  outfile: `${root}dist/tar-apply-worker.cjs`,
  ...nodeBundle,
});
asciiOnly(`${root}dist/berthd.cjs`);
// Smoke test: the bundle starts and answers --version.
const smoke = spawnSync(process.execPath, [`${root}bin/launch.cjs`, '--version'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' }, encoding: 'utf8' });
if (smoke.status !== 0) {
  console.error(`bundle smoke test failed:\n${smoke.stdout}${smoke.stderr}`);
  process.exit(1);
}
await recordCodeCache();

/**
 * Escapes the few non-ASCII characters esbuild leaves in regex literals (µs
 * in Go duration parsers) as \\uXXXX, valid in regexes, strings, templates
 * and identifiers alike. One such character makes V8 hold the whole
 * ~850 KB bundle source as a two-byte string (twice the memory, for the
 * daemon's life); pure ASCII also lets bin/launch.cjs read it as latin1,
 * without UTF-8 decoding.
 */
function asciiOnly(file) {
  const src = readFileSync(file, 'utf8');
  const out = src.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (out !== src) writeFileSync(file, out);
}

/**
 * V8's code cache holds the functions compiled by the time it is written, so
 * it is recorded from a real start-up: a daemon on throw-away directories that
 * boots every plugin and answers the requests a docker CLI sends first
 * (/_ping, /version, /info). Without it, all of that code would be compiled
 * lazily at every start. Where a daemon cannot start here (not root), the
 * cache comes from a --version run, which covers module loading only.
 */
async function recordCodeCache() {
  const env = { ...process.env, BERTH_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' };
  const launch = `${root}bin/launch.cjs`;
  if (process.getuid?.() === 0 && (await trainingRun(launch, env))) return;
  rmSync(`${root}dist/berthd.cache`, { force: true });
  const r = spawnSync(process.execPath, [launch, '--version'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`code cache run failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
}

async function trainingRun(launch, env) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-codecache-'));
  const socket = join(dir, 'berth.sock');
  // Every plugin runs as on a default start, bridge and firewall included, but
  // on names of its own: a build must not touch a running berthd's berth0 or
  // BERTH chains, nor turn on the host's ip_forward.
  const tag = process.pid.toString(16).slice(-4).toUpperCase();
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({
    'ip-forward': false,
    'default-address-pools': [{ base: `10.${200 + (process.pid % 50)}.0.0/16`, size: 24 }],
    berth: { plugins: { 'net-bridge': { chainPrefix: `BCC${tag}` }, 'network-service': { defaultBridge: `bcc${tag.toLowerCase()}0` } } },
  }) + '\n');
  const child = spawn(process.execPath, [launch, '--config-file', join(dir, 'daemon.json'), '-H', `unix://${socket}`,
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  try {
    const t0 = Date.now();
    while ((await get(socket, '/_ping')) !== 200) {
      if (child.exitCode !== null || Date.now() - t0 > 20_000) throw new Error(`daemon did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const path of ['/_ping', '/version', '/v1.51/version', '/v1.51/info', '/v1.51/containers/json?all=1', '/v1.51/images/json']) await get(socket, path);
    child.kill('SIGTERM');
    return (await exited) === 0;
  } catch (err) {
    console.error(`code cache from a start-up not recorded (${err.message.split('\n')[0]}); using a --version run`);
    child.kill('SIGKILL');
    await exited;
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function get(socketPath, path) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.end();
  });
}
