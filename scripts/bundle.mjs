#!/usr/bin/env node
// Bundles the compiled daemon (dist/cmd/berthd/main.js) into one CommonJS
// file, dist/berthd.cjs, then records V8's code cache for it
// (dist/berthd.cache) from one real start-up (see recordCodeCache). Resolving and
// compiling several hundred module files of koa and inversify at every start
// costs more than the daemon's own start-up; one pre-linked, pre-compiled
// file is what makes berthd start fast (bin/launch.cjs loads it).
// Then the bundle, evaluated once, is saved as a V8 startup snapshot
// (dist/berthd.blob, see buildSnapshot): bin/berthd deserializes it instead
// of evaluating the bundle when it was built by the node that will run it.
// tsc runs first, so decorator metadata is already emitted.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lazyBuiltins } from './lazy-builtins.mjs';
import { lazyDebug } from './lazy-debug.mjs';
import { lazyPackages } from './lazy-packages.mjs';
import { depdStandIn, koaLazyAsyncHooks } from './load-time-free.mjs';

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
// A blob of an older bundle must never start this one (bin/berthd also checks that the bundle is not newer).
for (const f of ['berthd.blob', 'berthd.blob.node']) rmSync(`${root}dist/${f}`, { force: true });
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
  plugins: [slimMimeDb, lazyBuiltins, lazyDebug, lazyPackages, depdStandIn, koaLazyAsyncHooks],
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
buildSnapshot();

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
// A blob of an older bundle must never start this one (bin/berthd also checks that the bundle is not newer).
for (const f of ['berthd.blob', 'berthd.blob.node']) rmSync(`${root}dist/${f}`, { force: true });
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

/**
 * Builds dist/berthd.blob: the bundle evaluated by scripts/snapshot-entry.cjs
 * (which refuses a bundle that reads the environment while it loads), with
 * the code cache's bytecode. dist/berthd.blob.node records what it is valid
 * for: the node binary that built it (its path, and its mtime copied onto
 * the record), the dist directory whose path the bundle holds (the
 * worker's script is found from it) and the CPU's features (cpuFeatures). bin/berthd uses the blob only when
 * all of them still match, and the bundle is not newer than the blob.
 * The smoke test starts berthd from the blob, as bin/berthd would.
 */
function buildSnapshot() {
  const dist = realpathSync(`${root}dist`);
  const blob = join(dist, 'berthd.blob');
  const tmp = `${blob}.tmp-${process.pid}`;
  const record = join(dist, 'berthd.blob.node');
  // Constants of this node binary that modules read while they load, from a builtin kept out of the snapshot.
  const http = process.getBuiltinModule ? process.getBuiltinModule('node:http') : undefined;
  const data = http ? { 'node:http': { METHODS: http.METHODS, STATUS_CODES: http.STATUS_CODES } } : {};
  const r = spawnSync(process.execPath, ['--snapshot-blob', tmp, '--build-snapshot', `${root}scripts/snapshot-entry.cjs`], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '', BERTH_SNAPSHOT_DIST: dist, BERTH_SNAPSHOT_DATA: JSON.stringify(data) },
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    console.error(`startup snapshot build failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  const node = realpathSync(process.execPath);
  writeFileSync(record, `${node}\n${dist}\n${cpuFeatures()}\n`);
  const touch = spawnSync('touch', ['-r', node, record]); // nanosecond-exact, which utimes() from JS is not
  if (touch.status !== 0) {
    rmSync(tmp, { force: true });
    rmSync(record, { force: true });
    console.error(`startup snapshot: cannot stamp ${record}: ${touch.stderr}`);
    process.exit(1);
  }
  renameSync(tmp, blob);
  // bin/berthd runs the `node` on PATH: this one, for the smoke test.
  const env = { ...process.env, BERTH_LAUNCH_TRACE: '1', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const smoke = spawnSync(`${root}bin/berthd`, ['--version'], { env, encoding: 'utf8' });
  if (smoke.status !== 0 || !/^launch: snapshot$/m.test(smoke.stderr) || !/^Berth version /.test(smoke.stdout)) {
    console.error(`snapshot smoke test failed (status ${smoke.status}):\n${smoke.stdout}${smoke.stderr}`);
    process.exit(1);
  }
}

/**
 * The CPU's feature line of /proc/cpuinfo ("flags" on x86, "Features" on
 * arm), as bin/berthd reads it. V8 stamps a snapshot with the CPU features
 * it detected, and node exits (status 14) on a blob made on a CPU with
 * others (a VM with another CPU model, a dist/ copied to another host):
 * the record makes bin/berthd fall back to the code cache there instead.
 */
function cpuFeatures() {
  let text = '';
  try { text = readFileSync('/proc/cpuinfo', 'latin1'); } catch { return ''; /* no /proc: bin/berthd reads the same empty line */ }
  return /^(?:flags|Features)\b.*$/m.exec(text)?.[0] ?? '';
}

function get(socketPath, path) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', () => resolve(0));
    req.end();
  });
}
