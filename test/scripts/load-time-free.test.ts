// scripts/load-time-free.mjs: the depd stand-in keeps koa's deprecation
// messages (here through the real http-errors, bundled as berthd bundles
// it), reading the environment when a deprecated thing is used.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO_ROOT } from '../helpers/berthd-process.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-depd-'));
const { depdStandIn } = await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'load-time-free.mjs')).href) as { depdStandIn: never };

async function bundle(name: string, source: string): Promise<string> {
  const entry = join(dir, `${name}.cjs`);
  writeFileSync(entry, source);
  const out = join(dir, `${name}.out.cjs`);
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', nodePaths: [join(REPO_ROOT, 'node_modules')], plugins: [depdStandIn], logLevel: 'error' });
  return out;
}

function run(file: string, env: Record<string, string> = {}, args: string[] = []) {
  return spawnSync(process.execPath, [...args, file], { env: { ...process.env, NO_DEPRECATION: '', TRACE_DEPRECATION: '', ...env }, encoding: 'utf8', cwd: dir });
}

describe('depd stand-in', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints http-errors' deprecation once per call site, in depd's format", async () => {
    const out = await bundle('errors', "const createError = require('http-errors');\nfor (let i = 0; i < 3; i++) createError(302, 'moved');\ncreateError(301, 'again');\n");
    const r = run(out);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 2, r.stderr);
    for (const l of lines) assert.match(l, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT http-errors deprecated non-error status code; use only 4xx or 5xx status codes at errors\.out\.cjs:\d+:\d+$/);
  });

  it('is silenced by NO_DEPRECATION and --no-deprecation, traced by TRACE_DEPRECATION', async () => {
    const out = await bundle('quiet', "const deprecate = require('depd')('mylib');\nfunction old() { deprecate('old thing'); }\nold();\n");
    assert.equal(run(out, { NO_DEPRECATION: 'mylib' }).stderr, '');
    assert.equal(run(out, { NO_DEPRECATION: '*' }).stderr, '');
    assert.equal(run(out, {}, ['--no-deprecation']).stderr, '');
    assert.match(run(out, { NO_DEPRECATION: 'other' }).stderr, /mylib deprecated old thing at quiet\.out\.cjs:\d+:\d+/);
    assert.match(run(out, { TRACE_DEPRECATION: 'mylib' }).stderr, /mylib deprecated old thing\n {4}at /);
  });

  it("emits process 'deprecation' events to listeners, and wraps functions and properties", async () => {
    const out = await bundle('events', [
      "const deprecate = require('depd')('mylib');",
      "const seen = [];",
      "process.on('deprecation', (e) => seen.push(`${e.name} ${e.namespace} ${e.message}`));",
      "const f = deprecate.function(function add(a, b) { return a + b; }, 'add()');",
      "const o = { old: 1 };",
      "deprecate.property(o, 'old', 'o.old');",
      "const sum = f(1, 2); const v = o.old; o.old = 5;",
      "console.log(JSON.stringify({ sum, v, now: o.old, len: f.length, seen }));",
    ].join('\n'));
    const r = run(out);
    assert.equal(r.stderr, '');
    const res = JSON.parse(r.stdout);
    assert.deepEqual({ ...res, seen: undefined }, { sum: 3, v: 1, now: 5, len: 2, seen: undefined });
    assert.deepEqual(res.seen.slice(0, 2), ['DeprecationError mylib add()', 'DeprecationError mylib o.old']);
  });

  it('reads neither the environment nor the cwd when it loads', async () => {
    const out = await bundle('load', "process.env = new Proxy(process.env, { get(t, k) { if (typeof k === 'string') console.log('read', k); return t[k]; } });\nprocess.cwd = () => { console.log('cwd'); return '/'; };\nrequire('depd')('mylib');\n");
    const r = run(out);
    assert.equal(r.stdout, '');
  });
});
