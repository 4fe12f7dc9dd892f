import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { overlaySkipReason } from '../graph-overlay/overlay-skip.js';

const dist = fileURLToPath(new URL('../../../', import.meta.url));
const hasStrace = spawnSync('strace', ['-V']).status === 0;
const skip = !hasStrace ? 'strace is not installed' : (await overlaySkipReason());

/** Runs `body` (an ES module's text) under strace and returns the paths it fsynced, in order. */
async function fsyncedPaths(dir: string, body: string): Promise<string[]> {
  const script = join(dir, `script-${Date.now()}.mjs`);
  const trace = join(dir, `trace-${Date.now()}.txt`);
  await writeFile(script, body);
  const r = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,syncfs', '-o', trace, process.execPath, script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const paths: string[] = [];
  for (const line of (await readFile(trace, 'utf8')).split('\n')) {
    const m = /(?:fsync|fdatasync|syncfs)\(\d+<([^>]*)>/.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/**
 * What a container's records and layer cost in fsyncs (counted by strace):
 * the create's record is durable with its directory; each later state change
 * is one fsync of the new content (renamed over the durable record, as
 * dockerd checkpoints); an overlay2 layer's metadata and directory take one
 * round of three fsyncs.
 */
describe('container records and layers: fsyncs', { skip }, () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-fsyncs-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a create fsyncs the record and its directory; each state change fsyncs the record only', async () => {
    const root = join(dir, 'containers');
    const id = 'b'.repeat(64);
    const paths = await fsyncedPaths(dir, `
      import { ContainerStore } from ${JSON.stringify(pathToFileURL(join(dist, 'plugins/container-service/container-store.js')).href)};
      const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
      const store = new ContainerStore(${JSON.stringify(root)}, log);
      await store.load();
      await store.prepare('${id}');
      const rec = (s) => ({ Id: '${id}', Name: '/f', State: { Status: s } });
      await store.save(rec('created'));
      await store.save(rec('running'));
      await store.save(rec('exited'));
      await store.save(rec('running'), { durable: false });
    `);
    const inDir = join(root, id);
    assert.equal(paths.length, 4, paths.join('\n'));
    assert.match(paths[0]!, new RegExp(`^${inDir}/\\.config\\.v2\\.json\\..*\\.tmp$`));
    assert.equal(paths[1], inDir);
    for (const p of paths.slice(2)) assert.match(p, /\/\.config\.v2\.json\..*\.tmp$/);
    assert.equal(JSON.parse(await readFile(join(inDir, 'config.v2.json'), 'utf8')).State.Status, 'running');
  });

  it('an overlay2 layer fsyncs its link, lower and directory once each; a volatile one none', async () => {
    const root = join(dir, 'overlay2');
    const paths = await fsyncedPaths(dir, `
      import { OverlayDriver } from ${JSON.stringify(pathToFileURL(join(dist, 'plugins/graph-overlay/overlay-driver.js')).href)};
      const d = await OverlayDriver.open(${JSON.stringify(root)});
      await d.create('base', null);
      await d.createReadWrite('ctr', 'base');
      await d.createReadWrite('rm-ctr', 'base', { volatile: true });
      await d.dispose();
    `);
    const ctr = paths.filter((p) => p.startsWith(join(root, 'ctr'))).sort();
    assert.deepEqual(ctr, [join(root, 'ctr'), join(root, 'ctr', 'link'), join(root, 'ctr', 'lower')]);
    assert.deepEqual(paths.filter((p) => p.startsWith(join(root, 'rm-ctr'))), []);
    assert.deepEqual(paths.filter((p) => p.startsWith(join(root, 'base'))).sort(), [join(root, 'base'), join(root, 'base', 'link')]);
  });
});

/**
 * The spool offset is replaced by a rename without fsync: a kill -9 finds
 * the old or the new value, and the log it vouches for is not synced either
 * (spool-offset.ts); each fsync committed the journal with the chatty
 * container's dirty log and spool data.
 */
describe('spool offset: no fsync', { skip: hasStrace ? false : 'strace is not installed' }, () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-fsyncs-offset-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('saves each value by a rename, with no fsync, and leaves no temp file', async () => {
    const cdir = join(dir, 'c');
    const paths = await fsyncedPaths(dir, `
      import { mkdir } from 'node:fs/promises';
      import { SpoolOffset } from ${JSON.stringify(pathToFileURL(join(dist, 'plugins/container-service/spool-offset.js')).href)};
      await mkdir(${JSON.stringify(cdir)});
      const offset = new SpoolOffset(${JSON.stringify(cdir)});
      for (const n of [10, 4096, 1234567]) { offset.set(n); await offset.flush(); }
      if (await SpoolOffset.read(${JSON.stringify(cdir)}) !== 1234567) process.exit(3);
    `);
    assert.deepEqual(paths, []);
    assert.equal(await readFile(join(cdir, 'spool.offset'), 'utf8'), '1234567');
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(cdir), ['spool.offset']);
  });
});
