import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readlink, rm, writeFile, unlink, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, silentLogger, type PluginContext } from '../../../kernel/index.js';
import { graphDriverSuite } from '../../conformance/graph-driver.suite.js';
import { mountsUnder, readTar, tarOf } from '../../conformance/tar-fixtures.js';
import { OverlayDriver } from '../../../plugins/graph-overlay/overlay-driver.js';
import { probeOverlay } from '../../../plugins/graph-overlay/overlay-probe.js';
import { overlaySkipReason } from './overlay-skip.js';
import { parseOverlayOptions } from '../../../plugins/graph-overlay/overlay-options.js';
import overlayPlugin from '../../../plugins/graph-overlay/manifest.js';
import { readXattrs } from '../../../plugins/graph-common/xattrs.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';
import { backingFsName } from '../../../plugins/graph-common/backing-fs.js';

const skip = await overlaySkipReason();
if (skip) console.log(`# overlay2 tests skipped: ${skip}`);

graphDriverSuite('overlay2', (root) => OverlayDriver.open(root), { skip });
// The same contract through the naive differ, which hosts with redirect_dir or metacopy fall back to.
graphDriverSuite('overlay2-naive-diff', (root) => OverlayDriver.open(root, { naiveDiff: true }), { skip });

describe('graph-overlay specifics', { skip }, () => {
  let dir: string;
  let root: string;
  let driver: OverlayDriver;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-overlay-'));
    root = join(dir, 'overlay2');
    driver = await OverlayDriver.open(root);
  });
  after(async () => {
    await driver.dispose();
    for (const m of (await mountsUnder(dir)).reverse()) await runCommand('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a backing filesystem it knows without a test mount, as dockerd 20.10 on kernel >= 4.0', async () => {
    const fresh = join(dir, 'probe-known-fs');
    assert.equal(await probeOverlay(fresh), null);
    // The test-mount path leaves its stamp and temp dirs behind in root; the known-filesystem path touches nothing.
    if (['extfs', 'btrfs', 'tmpfs', 'f2fs'].includes(await backingFsName(fresh))) {
      await assert.rejects(readFile(join(fresh, '.probe-ok')), { code: 'ENOENT' });
    }
  });

  it('uses dockerd\'s overlay2 layout: l/ links, link and lower files', async () => {
    await driver.create('base', null);
    await driver.create('child', 'base');
    await driver.create('grandchild', 'child');
    const link = await readFile(join(root, 'base', 'link'), 'utf8');
    assert.match(link, /^[A-Z2-7]{26}$/);
    assert.equal(await readlink(join(root, 'l', link)), '../base/diff');
    const childLink = await readFile(join(root, 'child', 'link'), 'utf8');
    assert.equal(await readFile(join(root, 'grandchild', 'lower'), 'utf8'), `l/${childLink}:l/${link}`);
    await assert.rejects(lstat(join(root, 'base', 'lower')), /ENOENT/);
    assert.ok((await lstat(join(root, 'child', 'work'))).isDirectory());
    assert.deepEqual(await driver.metadata('grandchild'), {
      WorkDir: join(root, 'grandchild', 'work'),
      MergedDir: join(root, 'grandchild', 'merged'),
      UpperDir: join(root, 'grandchild', 'diff'),
      LowerDir: `${join(root, 'child', 'diff')}:${join(root, 'base', 'diff')}`,
    });
  });

  it('mounts on first get, unmounts on last put; base layers are never mounted', async () => {
    assert.equal(await driver.get('base'), join(root, 'base', 'diff'));
    await driver.put('base');
    const merged = await driver.get('child');
    assert.equal(merged, join(root, 'child', 'merged'));
    await driver.get('child');
    assert.deepEqual(await mountsUnder(root), [merged]);
    await driver.put('child');
    assert.deepEqual(await mountsUnder(root), [merged]);
    await driver.put('child');
    assert.deepEqual(await mountsUnder(root), []);
  });

  it('writes whiteouts and opaque dirs natively into diff/ and reads them back', async () => {
    await driver.create('nb', null);
    await driver.applyDiff('nb', null, await tarOf([{ name: 'd/a', content: 'a' }, { name: 'f', content: 'f' }]));
    await driver.create('nw', 'nb');
    await driver.applyDiff('nw', 'nb', await tarOf([{ name: '.wh.f' }, { name: 'd/' }, { name: 'd/.wh..wh..opq' }, { name: 'd/b', content: 'b' }]));
    const st = await lstat(join(root, 'nw', 'diff', 'f'));
    assert.ok(st.isCharacterDevice() && st.rdev === 0, 'overlay whiteout');
    assert.equal((await readXattrs(join(root, 'nw', 'diff', 'd'))).get('trusted.overlay.opaque')?.toString(), 'y');
    const rows = Object.fromEntries(await driver.status());
    if (rows['Native Overlay Diff'] === 'true') {
      const names = (await readTar(await driver.diff('nw', 'nb'))).map((e) => e.name);
      assert.deepEqual(names, ['d', 'd/.wh..wh..opq', 'd/b', '.wh.f']);
    }
    assert.deepEqual(await driver.changes('nw', 'nb'), [{ Path: '/d', Kind: 0 }, { Path: '/d/a', Kind: 2 }, { Path: '/d/b', Kind: 1 }, { Path: '/f', Kind: 2 }]);
  });

  it('diffs against a layer that is not the parent through the mounted trees', async () => {
    const names = (await readTar(await driver.diff('nw', null))).map((e) => e.name).sort();
    assert.deepEqual(names, ['d', 'd/b']);
    for (let i = 0; i < 50 && (await mountsUnder(root)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await mountsUnder(root), [], 'mounts released once the stream closed');
  });

  it('reports dockerd\'s status rows', async () => {
    const rows = await driver.status();
    assert.deepEqual(rows.map((r) => r[0]), ['Backing Filesystem', 'Supports d_type', 'Using metacopy', 'Native Overlay Diff', 'userxattr']);
  });

  it('removes a layer left mounted by an earlier instance', async () => {
    await driver.create('stale', 'base');
    const other = await OverlayDriver.open(root);
    const merged = await other.get('stale');
    assert.deepEqual(await mountsUnder(root), [merged]);
    // `other` "crashes" (never puts); a new instance adopts or removes the mount.
    assert.equal(await driver.get('stale'), merged, 'an existing mount is adopted');
    await driver.put('stale');
    assert.deepEqual(await mountsUnder(root), []);
    await other.get('stale');
    await driver.remove('stale');
    assert.equal(await driver.exists('stale'), false);
    assert.deepEqual(await mountsUnder(root), []);
    const link = await readlink(join(root, 'l')).catch(() => null);
    assert.equal(link, null, 'l/ is a directory');
  });

  it('removes the mount point at the last put, and mounts again at the next get', async () => {
    await driver.create('mp', 'base');
    const merged = await driver.get('mp');
    await writeFile(join(merged, 'kept'), 'k');
    await driver.put('mp');
    assert.deepEqual(await mountsUnder(root), []);
    await assert.rejects(lstat(merged), /ENOENT/, 'the empty mount point is gone (dockerd Rmdirs it)');
    assert.equal(await driver.get('mp'), merged);
    assert.deepEqual(await mountsUnder(root), [merged]);
    assert.equal(await readFile(join(merged, 'kept'), 'utf8'), 'k');
    await driver.put('mp');
    await driver.remove('mp');
  });

  it('a layer removed and made again under the same id has its new parent (link and lower not kept past remove)', async () => {
    await driver.create('p1', 'base');
    await driver.create('p2', null);
    await driver.create('again', 'p1');
    await driver.remove('again');
    await driver.create('again', 'p2');
    const p2Link = await readFile(join(root, 'p2', 'link'), 'utf8');
    assert.equal(await readFile(join(root, 'again', 'lower'), 'utf8'), `l/${p2Link}`);
    assert.equal((await driver.metadata('again')).LowerDir, join(root, 'p2', 'diff'));
    await writeFile(join(root, 'p2', 'diff', 'from-p2'), 'x');
    const merged = await driver.get('again');
    assert.equal(await readFile(join(merged, 'from-p2'), 'utf8'), 'x');
    await driver.put('again');
    for (const id of ['again', 'p1', 'p2']) await driver.remove(id);
  });

  it('refuses chains deeper than the mount options allow', { timeout: 120_000 }, async () => {
    let parent = 'base';
    let failedAt = -1;
    for (let i = 0; i < 200; i++) {
      try {
        await driver.create(`deep-${i}`, parent);
      } catch (err) {
        assert.ok(err instanceof InvalidParameterError && /max depth exceeded/.test(err.message));
        failedAt = i;
        break;
      }
      parent = `deep-${i}`;
    }
    assert.ok(failedAt >= 125, `supports at least 125 lowers (stopped at ${failedAt})`);
    const merged = await driver.get(parent);
    await writeFile(join(merged, 'x'), 'deep');
    await driver.put(parent);
    assert.equal(await readFile(join(root, parent, 'diff', 'x'), 'utf8'), 'deep');
  });

  it('parses storage-opts with dockerd wording', async () => {
    assert.deepEqual(parseOverlayOptions([]), { size: 0 });
    assert.throws(() => parseOverlayOptions(['vfs.xattrs=i_want_broken_containers']), /^InvalidParameterError: overlay2: unknown option vfs.xattrs$/);
    await assert.rejects(OverlayDriver.open(join(dir, 'q'), { storageOpts: ['overlay2.size=1G'] }), /only supported for backingFS XFS|Project Quota/);
    await assert.rejects(driver.create('x', null, { storageOpt: { size: '1G' } }), /only supported for ReadWrite Layers/);
    await assert.rejects(driver.createReadWrite('x', null, { storageOpt: { size: '1G' } }), /pquota/);
  });

  it('is the graph-driver.v1 plugin overlay2, first in priority, and activates here', async () => {
    assert.deepEqual([overlayPlugin.id, overlayPlugin.point, overlayPlugin.name, overlayPlugin.swap, overlayPlugin.priority], ['graph-overlay', 'graph-driver.v1', 'overlay2', 'restart-only', 10]);
    const pluginRoot = join(dir, 'plugin-root', 'overlay2');
    const ctx = { paths: { root: pluginRoot, dataRoot: dir, execRoot: dir, state: dir }, daemon: { 'storage-opts': [] }, log: silentLogger } as unknown as PluginContext;
    const d = await overlayPlugin.activate(ctx as never);
    await d.dispose();
    const bad = { ...ctx, daemon: { 'storage-opts': ['foo=bar'] } } as unknown as PluginContext;
    await assert.rejects(Promise.resolve().then(() => overlayPlugin.activate(bad as never)), /overlay2: unknown option foo/);
    await unlink(join(pluginRoot, 'nothing')).catch(() => undefined);
    await rmdir(pluginRoot).catch(() => undefined);
  });
});
