// bin/berthd's choice between the startup snapshot (dist/berthd.blob) and the
// bundle with its code cache (bin/launch.cjs), and a daemon started from the
// snapshot doing what a daemon does. Needs `npm run build` (tests run from
// dist/ anyway); the copies below are made of the built files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT, BERTHD, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';

const DIST = join(REPO_ROOT, 'dist');
// bin/berthd runs the `node` on PATH: the one running the tests, as in the build's own smoke test.
const ENV = { ...process.env, BERTH_LAUNCH_TRACE: '1', PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };

function version(berthd: string) {
  const r = spawnSync(berthd, ['--version'], { env: ENV, encoding: 'utf8' });
  const launch = /^launch: (.*)$/m.exec(r.stderr)?.[1];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, launch };
}

/** bin/ and dist/ copied to a temp dir: the real ones are shared with every other running test. */
function copyInstall(files: string[]): { root: string; berthd: string } {
  const root = mkdtempSync(join(tmpdir(), 'berth-launch-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'dist'));
  for (const f of ['berthd', 'launch.cjs']) copyFileSync(join(REPO_ROOT, 'bin', f), join(root, 'bin', f));
  // cp -p: the files keep their (nanosecond) mtimes, which bin/berthd compares.
  const cp = spawnSync('cp', ['-p', ...files.map((f) => join(DIST, f)), join(root, 'dist')]);
  assert.equal(cp.status, 0, String(cp.stderr));
  return { root, berthd: join(root, 'bin', 'berthd') };
}

/** The copied record, pointing at the copy's dist (what a build there would have written), with the node's mtime. */
function retarget(root: string, node = process.execPath): void {
  const record = join(root, 'dist', 'berthd.blob.node');
  const [builtNode, , builtCpu] = readFileSync(record, 'utf8').split('\n');
  writeFileSync(record, `${builtNode}\n${join(root, 'dist')}\n${builtCpu}\n`);
  assert.equal(spawnSync('touch', ['-r', node, record]).status, 0);
}

describe('bin/berthd: snapshot or code cache', () => {
  const copies: string[] = [];
  after(() => { for (const c of copies) rmSync(c, { recursive: true, force: true }); });

  it('the build made a snapshot for this node and this dist, and bin/berthd starts from it', () => {
    assert.ok(existsSync(join(DIST, 'berthd.blob')), 'npm run build writes dist/berthd.blob');
    const [builtNode, builtDist] = readFileSync(join(DIST, 'berthd.blob.node'), 'utf8').split('\n');
    assert.equal(builtDist, DIST.replace(/\/$/, ''));
    assert.ok(builtNode);
    const r = version(BERTHD);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.launch, 'snapshot');
    assert.match(r.stdout, /^Berth version \d+\.\d+\.\d+ \(Docker Engine API compatible, engine /);
  });

  it('without a snapshot, the bundle starts with its code cache', () => {
    const { root, berthd } = copyInstall(['berthd.cjs', 'berthd.cache']);
    copies.push(root);
    const r = version(berthd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.launch, 'code cache (no snapshot)');
    assert.equal(r.stdout, version(BERTHD).stdout);
  });

  it('a snapshot recorded for another node binary is not used, and berthd still starts', () => {
    const { root, berthd } = copyInstall(['berthd.cjs', 'berthd.cache', 'berthd.blob', 'berthd.blob.node']);
    copies.push(root);
    retarget(root);
    // Same path, other binary: a node upgraded in place has another mtime.
    const record = join(root, 'dist', 'berthd.blob.node');
    utimesSync(record, new Date(), new Date(Date.UTC(2001, 0, 1)));
    let r = version(berthd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.launch, 'code cache (snapshot made by another node)');
    // Another path altogether (an nvm switch).
    const [, dist] = readFileSync(record, 'utf8').split('\n');
    writeFileSync(record, `/opt/node-v18.0.0/bin/node\n${dist}\n`);
    assert.equal(spawnSync('touch', ['-r', process.execPath, record]).status, 0);
    r = version(berthd);
    assert.equal(r.launch, 'code cache (snapshot made by another node)');
    assert.equal(r.status, 0, r.stderr);
  });

  it('a snapshot recorded on a CPU with other features is not used (node would exit on it), and berthd still starts', () => {
    const { root, berthd } = copyInstall(['berthd.cjs', 'berthd.cache', 'berthd.blob', 'berthd.blob.node']);
    copies.push(root);
    retarget(root);
    const record = join(root, 'dist', 'berthd.blob.node');
    const [builtNode, dist, cpu] = readFileSync(record, 'utf8').split('\n');
    assert.match(cpu!, /^(flags|Features)\b/, 'the build records the CPU feature line of /proc/cpuinfo');
    // What a qemu guest with another CPU model shows: one feature fewer.
    writeFileSync(record, `${builtNode}\n${dist}\n${cpu!.replace(/ \S+$/, '')}\n`);
    assert.equal(spawnSync('touch', ['-r', process.execPath, record]).status, 0);
    const r = version(berthd);
    assert.equal(r.launch, 'code cache (snapshot made on another CPU)');
    assert.equal(r.status, 0, r.stderr);
  });

  it('gives node GLIBC_TUNABLES=glibc.malloc.hugetlb=1 with a marker, and leaves a GLIBC_TUNABLES of the user\'s alone', () => {
    const { root, berthd } = copyInstall(['berthd.cjs', 'berthd.cache']);
    copies.push(root);
    // A `node` that shows what bin/berthd handed it.
    const fake = join(root, 'fake-node');
    mkdirSync(fake);
    writeFileSync(join(fake, 'node'), '#!/bin/sh\necho "GLIBC_TUNABLES=${GLIBC_TUNABLES-unset} MARKER=${BERTH_LAUNCH_GLIBC_TUNABLES-unset}"\n', { mode: 0o755 });
    const run = (extra: Record<string, string>) => {
      const { GLIBC_TUNABLES: _g, BERTH_LAUNCH_GLIBC_TUNABLES: _m, ...env } = process.env;
      return spawnSync(berthd, ['--version'], { env: { ...env, ...extra, PATH: `${fake}:${process.env.PATH ?? ''}` }, encoding: 'utf8' }).stdout.trim();
    };
    assert.equal(run({}), 'GLIBC_TUNABLES=glibc.malloc.hugetlb=1 MARKER=1');
    assert.equal(run({ GLIBC_TUNABLES: 'glibc.malloc.check=3' }), 'GLIBC_TUNABLES=glibc.malloc.check=3 MARKER=unset');
    assert.equal(run({ GLIBC_TUNABLES: '' }), 'GLIBC_TUNABLES= MARKER=unset');
  });

  it('a snapshot older than the bundle, or made for another directory, is not used', () => {
    const { root, berthd } = copyInstall(['berthd.cjs', 'berthd.cache', 'berthd.blob', 'berthd.blob.node']);
    copies.push(root);
    // As copied, the record names the repository's dist: the bundle in the snapshot would look for its worker there.
    let r = version(berthd);
    assert.equal(r.launch, 'code cache (snapshot made for another directory)');
    assert.equal(r.status, 0, r.stderr);
    retarget(root);
    r = version(berthd);
    assert.equal(r.launch, 'snapshot', 'the same files, recorded for this directory, are used');
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'dist', 'berthd.cjs'), later, later);
    r = version(berthd);
    assert.equal(r.launch, 'code cache (bundle newer than snapshot)');
    assert.equal(r.status, 0, r.stderr);
  });
});

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a daemon started from the snapshot', () => {
  let d: BerthdProcess;
  before(async () => { d = await startBerthd({}, [], {}); });
  after(async () => { await d?.stop(); });

  it('is the snapshot process, with the argv of a bundle start', async () => {
    const cmdline = (await readFile(`/proc/${d.child.pid}/cmdline`, 'utf8')).split('\0');
    assert.equal(cmdline[1], '--snapshot-blob');
    assert.match(cmdline[2]!, /dist\/berthd\.blob$/);
    assert.match(cmdline[3]!, /bin\/launch\.cjs$/);
    assert.equal(cmdline[4], '--config-file');
  });

  it('serves /_ping and /version', async () => {
    const ping = await get(d.socket, '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    const v = await get(d.socket, '/v1.51/version');
    assert.equal(v.status, 200);
    const body = JSON.parse(v.body);
    assert.equal(body.ApiVersion, '1.51');
    assert.equal(body.GoVersion, `node${process.versions.node}`);
  });

  it('reloads daemon.json on SIGHUP', async () => {
    await writeFile(d.configFile, JSON.stringify({ bridge: 'none', iptables: false, 'ip-forward': false, labels: ['snapshot=yes'] }));
    d.child.kill('SIGHUP');
    let labels: string[] = [];
    for (let t0 = Date.now(); !labels.includes('snapshot=yes') && Date.now() - t0 < 20_000;) {
      await new Promise((r) => setTimeout(r, 100));
      labels = JSON.parse((await get(d.socket, '/v1.51/info')).body).Labels ?? [];
    }
    assert.deepEqual(labels, ['snapshot=yes']);
  });

  it('node runs with glibc huge pages for malloc, and the processes it starts do not inherit the setting', async (t) => {
    if (process.env.GLIBC_TUNABLES !== undefined) return t.skip('GLIBC_TUNABLES is set here: bin/berthd leaves it to the user');
    const environ = async (pid: number) => (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    // /proc/<pid>/environ is the environment the process started with.
    assert.ok((await environ(d.child.pid!)).includes('GLIBC_TUNABLES=glibc.malloc.hugetlb=1'));
    // /info has the daemon start its helper processes (exec drivers' spawner, mount helper).
    assert.equal((await get(d.socket, '/v1.51/info')).status, 200);
    let children: number[] = [];
    for (let t0 = Date.now(); children.length === 0 && Date.now() - t0 < 10_000;) {
      await new Promise((r) => setTimeout(r, 100));
      const tasks = await readdir(`/proc/${d.child.pid}/task`);
      children = (await Promise.all(tasks.map((tid) => readFile(`/proc/${d.child.pid}/task/${tid}/children`, 'utf8').catch(() => ''))))
        .flatMap((c) => c.split(' ').filter(Boolean).map(Number));
    }
    assert.ok(children.length > 0, 'the daemon started a helper process');
    for (const c of children) {
      const env = await environ(c);
      assert.ok(!env.some((v) => v.startsWith('GLIBC_TUNABLES=') || v.startsWith('BERTH_LAUNCH_GLIBC_TUNABLES=')), `process ${c} inherited the launcher's setting`);
    }
  });

  it('reads the environment of its own start, not of the build (DEBUG traces koa-router)', async () => {
    const e = await startBerthdWithEnv({ DEBUG: 'koa-router' });
    try {
      await get(e.socket, '/_ping');
      assert.match(e.stderr(), /koa-router/);
    } finally {
      await e.stop();
    }
  });
});

/** startBerthd with extra environment variables for the daemon (the helper passes its own environment on). */
async function startBerthdWithEnv(env: Record<string, string>): Promise<BerthdProcess> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await startBerthd();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}
