// scripts/snapshot-entry.cjs builds berthd's startup snapshot: a bundle that
// reads its environment while it loads must be refused (the value would be
// frozen into every start), and a clean one must start from the blob with
// the argv and environment of that start.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/berthd-process.js';

const ENTRY = join(REPO_ROOT, 'scripts', 'snapshot-entry.cjs');
const HAND_OVER = "globalThis[Symbol.for('berth.snapshot.main')](() => { process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), env: process.env.SNAP_TEST ?? null, value })); });";

const dirs: string[] = [];
function build(bundleSource: string) {
  const dist = mkdtempSync(join(tmpdir(), 'berth-snapentry-'));
  dirs.push(dist);
  writeFileSync(join(dist, 'berthd.cjs'), bundleSource);
  const blob = join(dist, 'berthd.blob');
  const r = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', ENTRY], {
    env: { ...process.env, BERTH_SNAPSHOT_DIST: dist, BERTH_SNAPSHOT_DATA: JSON.stringify({ 'node:http': { METHODS: ['GET'] } }) },
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr, blob };
}

describe('startup snapshot entry', () => {
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('a clean bundle is snapshotted; its start function runs after deserialization with that start\'s argv and env', () => {
    const b = build(`const value = [1, 2, 3].map((n) => n * 2).join(',');\n${HAND_OVER}`);
    assert.equal(b.status, 0, b.stderr);
    const r = spawnSync(process.execPath, ['--snapshot-blob', b.blob, 'bin/launch.cjs', '--version', 'x'], { env: { ...process.env, SNAP_TEST: 'run-time' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { argv: ['--version', 'x'], env: 'run-time', value: '2,4,6' });
  });

  for (const [what, code, named] of [
    ['an environment variable', 'const value = process.env.HOME;', 'process.env.HOME'],
    ['the clock', 'const value = Date.now();', 'Date.now()'],
    ['a random value', 'const value = Math.random();', 'Math.random()'],
    ['the CPU count', "const value = require('node:os').availableParallelism();", 'os.availableParallelism()'],
    ['the working directory', 'const value = process.cwd();', 'process.cwd()'],
    ['the pid', 'const value = process.pid;', 'process.pid'],
    ['a file', "const value = require('node:fs').existsSync('/etc/hostname');", 'fs.existsSync()'],
    ['node:http, which a snapshot cannot hold', "const value = typeof require('node:http').createServer;", 'node:http'],
    ['node:crypto (random pools, keys)', "const value = require('node:crypto').createHash('sha256').digest('hex');", 'node:crypto'],
  ] as const) {
    it(`refuses a bundle that reads ${what} while it loads, naming it`, () => {
      const b = build(`${code}\n${HAND_OVER}`);
      assert.notEqual(b.status, 0);
      // node:http fails inside node's own builder (its module body needs what the builder lacks) before the entry's check.
      if (named !== 'node:http') assert.match(b.stderr, /startup snapshot refused/);
      assert.ok(b.stderr.includes(named), b.stderr);
    });
  }

  it('refuses a bundle that does not hand its start function over', () => {
    const b = build('const value = 1;');
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, /did not hand its start function to the snapshot hook/);
  });

  it('reads what a bundle computes on first use at run time, not at build time', () => {
    const b = build(`let cached; const value = null;\nglobalThis[Symbol.for('berth.snapshot.main')](() => { cached ??= process.env.SNAP_TEST; process.stdout.write(String(cached)); });`);
    assert.equal(b.status, 0, b.stderr);
    const r = spawnSync(process.execPath, ['--snapshot-blob', b.blob, 'x'], { env: { ...process.env, SNAP_TEST: 'second' }, encoding: 'utf8' });
    assert.equal(r.stdout, 'second');
  });
});
