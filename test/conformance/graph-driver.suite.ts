/**
 * The one conformance suite every graph driver runs (moby's graphtest,
 * containerd's SnapshotterSuite): layers, snapshots, get/put reference
 * counting, diffs with whiteouts and opaque dirs, metadata fidelity (links,
 * modes, owners, xattrs), deep chains, removal, status, dispose — and layer
 * tars that try to write outside the layer.
 *
 * Callers: test/plugins/graph-<driver>/<driver>-driver.test.ts, each passing
 * a factory that opens its driver on a fresh root.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile, readdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, type Change, type GraphDriver } from '../../kernel/index.js';
import { runCommand } from '../../plugins/graph-common/run-command.js';
import { readXattrs } from '../../plugins/graph-common/xattrs.js';
import { fingerprint, mountsUnder, readTar, readTree, tarOf, userXattrsSupported, type TarSpec } from './tar-fixtures.js';

export type GraphDriverFactory = (root: string) => Promise<GraphDriver>;

export function graphDriverSuite(name: string, factory: GraphDriverFactory, opts: {
  skip?: string;
  /** Multiplies the long tests' timeouts (drivers run under emulation, e.g. devicemapper in the dm VM). */
  timeScale?: number;
  /**
   * Layers in the deep-chain test (default 130: past what overlay's mount
   * options fit in a page). A driver whose layers do not stack at mount time
   * (thin snapshots) gains nothing from depth; under emulation it may use less.
   */
  chainLength?: number;
} = {}): void {
  const chain = opts.chainLength ?? 130;
  describe(`graph driver conformance: ${name}`, { skip: opts.skip }, () => {
    let dir: string;
    let root: string;
    let driver: GraphDriver;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), `gd-${name}-`));
      root = join(dir, 'root');
      await mkdir(root);
      driver = await factory(root);
    });

    afterEach(async () => {
      try {
        await driver.dispose();
      } finally {
        for (const m of (await mountsUnder(dir)).reverse()) await runCommand('umount', ['-l', m]); // never leak a mount
        await rm(dir, { recursive: true, force: true });
      }
    });

    /** create + applyDiff in one step. */
    async function layer(id: string, parent: string | null, entries: TarSpec[]): Promise<number> {
      await driver.create(id, parent);
      return driver.applyDiff(id, parent, await tarOf(entries));
    }

    /** The tree seen through get(id), released again. */
    async function view(id: string) {
      const path = await driver.get(id);
      try {
        return await readTree(path);
      } finally {
        await driver.put(id);
      }
    }

    async function names(id: string): Promise<string[]> {
      return [...(await view(id)).keys()].sort();
    }

    const sortChanges = (c: Change[]) => [...c].sort((a, b) => a.Path.localeCompare(b.Path));

    it('creates an empty layer', async () => {
      await driver.create('empty', null);
      assert.equal(await driver.exists('empty'), true);
      assert.equal(await driver.exists('nope'), false);
      const path = await driver.get('empty');
      assert.deepEqual(await readdir(path), []);
      await driver.put('empty');
      assert.equal(typeof (await driver.metadata('empty')), 'object');
    });

    it('creates a snapshot chain; children see parents, parents never see children', async () => {
      await layer('base', null, [{ name: 'etc/', mode: 0o755 }, { name: 'etc/hostname', content: 'base' }]);
      await driver.create('mid', 'base');
      const mid = await driver.get('mid');
      await writeFile(join(mid, 'etc/hostname'), 'mid');
      await writeFile(join(mid, 'mid-only'), 'm');
      await driver.put('mid');
      await driver.createReadWrite('top', 'mid');
      assert.equal((await view('top')).get('etc/hostname')?.content, 'mid');
      assert.equal((await view('base')).get('etc/hostname')?.content, 'base');
      assert.deepEqual(await names('base'), ['etc', 'etc/hostname']);
      assert.deepEqual(await names('top'), ['etc', 'etc/hostname', 'mid-only']);
      await assert.rejects(driver.create('orphan', 'no-such-parent'));
      await assert.rejects(driver.create('base', null), ConflictError);
    });

    it('counts get/put references and refuses to remove a layer in use', async () => {
      await layer('base', null, [{ name: 'f', content: 'x' }]);
      await driver.createReadWrite('rw', 'base');
      const p1 = await driver.get('rw');
      const p2 = await driver.get('rw');
      assert.equal(p1, p2);
      await driver.put('rw');
      assert.equal(await readFile(join(p1, 'f'), 'utf8'), 'x', 'still usable after one put');
      await assert.rejects(driver.remove('rw'), ConflictError);
      await driver.put('rw');
      await driver.remove('rw');
      assert.equal(await driver.exists('rw'), false);
    });

    it('diffs adds, modifies and deletes against the parent', async () => {
      await layer('base', null, [{ name: 'a', content: 'a' }, { name: 'b', content: 'b' }, { name: 'dir/c', content: 'c' }, { name: 'gone/x', content: 'x' }]);
      await driver.createReadWrite('rw', 'base');
      const p = await driver.get('rw');
      await writeFile(join(p, 'a'), 'A!');
      await unlink(join(p, 'b'));
      await rm(join(p, 'gone'), { recursive: true });
      await writeFile(join(p, 'd'), 'new');
      await writeFile(join(p, 'dir/e'), 'e');
      await driver.put('rw');

      const entries = await readTar(await driver.diff('rw', 'base'));
      const got = new Map(entries.map((e) => [e.name, e]));
      assert.equal(got.get('a')?.content.toString(), 'A!');
      assert.ok(got.has('.wh.b'));
      assert.ok(got.has('.wh.gone'));
      assert.equal(got.get('d')?.content.toString(), 'new');
      assert.equal(got.get('dir/e')?.content.toString(), 'e');
      assert.ok(!got.has('dir/c'), 'unchanged files stay out');

      assert.deepEqual(sortChanges(await driver.changes('rw', 'base')), [
        { Path: '/a', Kind: 0 }, { Path: '/b', Kind: 2 }, { Path: '/d', Kind: 1 },
        { Path: '/dir', Kind: 0 }, { Path: '/dir/e', Kind: 1 }, { Path: '/gone', Kind: 2 },
      ]);
      assert.equal(await driver.diffSize('rw', 'base'), 2 + 3 + 1);
    });

    it('round-trips applyDiff then diff', async () => {
      const spec: TarSpec[] = [
        { name: 'bin/', mode: 0o755 },
        { name: 'bin/tool', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
        { name: 'etc/', mode: 0o755 },
        { name: 'etc/conf', content: 'k=v\n', mode: 0o600, uid: 1234, gid: 1234 },
        { name: 'etc/alias', type: 'symlink', linkname: 'conf' },
      ];
      const size = await layer('l1', null, spec);
      assert.equal(size, 18 + 4);
      const entries = await readTar(await driver.diff('l1', null));
      assert.deepEqual(entries.map((e) => e.name).sort(), ['bin', 'bin/tool', 'etc', 'etc/alias', 'etc/conf']);
      await layer('l2', null, []);
      await driver.applyDiff('l2', null, await driver.diff('l1', null));
      const strip = (m: Map<string, object>) => [...m].map(([k, v]) => [k, { ...v, ino: 0 }]);
      assert.deepEqual(strip(await view('l2')), strip(await view('l1')));
    });

    it('lists changes of a layer applied from a tar', async () => {
      await layer('base', null, [{ name: 'keep', content: '1' }, { name: 'del', content: '2' }, { name: 'mod', content: '3' }]);
      await layer('top', 'base', [{ name: '.wh.del' }, { name: 'mod', content: '33' }, { name: 'add', content: '4' }]);
      assert.deepEqual(sortChanges(await driver.changes('top', 'base')), [
        { Path: '/add', Kind: 1 }, { Path: '/del', Kind: 2 }, { Path: '/mod', Kind: 0 },
      ]);
      assert.deepEqual(sortChanges(await driver.changes('base', null)).map((c) => c.Kind), [1, 1, 1]);
    });

    it('hides files deleted by a whiteout from every child', async () => {
      await layer('base', null, [{ name: 'f', content: 'x' }, { name: 'd/inner', content: 'y' }, { name: 'stay', content: 's' }]);
      await layer('wh', 'base', [{ name: '.wh.f' }, { name: 'd/' }, { name: 'd/.wh.inner' }]);
      await driver.createReadWrite('ctr', 'wh');
      assert.deepEqual(await names('ctr'), ['d', 'stay']);
      assert.deepEqual(await names('base'), ['d', 'd/inner', 'f', 'stay']);
      const entries = (await readTar(await driver.diff('wh', 'base'))).map((e) => e.name);
      assert.ok(entries.includes('.wh.f') && entries.includes('d/.wh.inner'), entries.join(','));
    });

    it('honours opaque directories', async () => {
      await layer('base', null, [{ name: 'd/x', content: 'x' }, { name: 'd/sub/y', content: 'y' }, { name: 'other', content: 'o' }]);
      await layer('opq', 'base', [{ name: 'd/' }, { name: 'd/.wh..wh..opq' }, { name: 'd/z', content: 'z' }]);
      assert.deepEqual(await names('opq'), ['d', 'd/z', 'other']);
      await driver.createReadWrite('ctr', 'opq');
      assert.deepEqual(await names('ctr'), ['d', 'd/z', 'other']);
      // The diff may say "opaque" or list each deletion; re-applied it must give the same tree.
      await driver.create('again', 'base');
      await driver.applyDiff('again', 'base', await driver.diff('opq', 'base'));
      assert.deepEqual(await names('again'), ['d', 'd/z', 'other']);
    });

    it('keeps hard links as hard links', async () => {
      await layer('lyr', null, [{ name: 'a', content: 'shared' }, { name: 'b', type: 'link', linkname: 'a' }, { name: 'sub/c', type: 'link', linkname: 'a' }]);
      const t = await view('lyr');
      assert.equal(t.get('b')?.ino, t.get('a')?.ino);
      assert.equal(t.get('sub/c')?.ino, t.get('a')?.ino);
      const entries = await readTar(await driver.diff('lyr', null));
      assert.equal(entries.filter((e) => e.type === 'link').length, 2);
      await driver.createReadWrite('child', 'lyr');
      const c = await view('child');
      assert.equal(c.get('b')?.content, 'shared');
    });

    it('keeps symlinks verbatim, dangling and absolute ones included', async () => {
      await layer('lyr', null, [
        { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
        { name: 'rel', type: 'symlink', linkname: '../../x' },
        { name: 'dangling', type: 'symlink', linkname: 'nowhere' },
      ]);
      await driver.createReadWrite('child', 'lyr');
      const t = await view('child');
      assert.equal(t.get('abs')?.target, '/etc/passwd');
      assert.equal(t.get('rel')?.target, '../../x');
      const entries = await readTar(await driver.diff('lyr', null));
      assert.equal(entries.find((e) => e.name === 'abs')?.linkname, '/etc/passwd');
    });

    it('keeps user xattrs', async (t) => {
      if (!(await userXattrsSupported(dir))) return t.skip('user.* xattrs are not supported here (or setfattr is missing)');
      await layer('lyr', null, [{ name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.berth': 'yes' } }]);
      await driver.createReadWrite('child', 'lyr');
      const p = await driver.get('child');
      try {
        assert.equal((await readXattrs(join(p, 'f'))).get('user.berth')?.toString(), 'yes');
      } finally {
        await driver.put('child');
      }
      const entries = await readTar(await driver.diff('lyr', null));
      assert.equal(entries.find((e) => e.name === 'f')?.pax['SCHILY.xattr.user.berth'], 'yes');
    });

    it('keeps file modes (setuid too) and ownership', async () => {
      await layer('lyr', null, [
        { name: 'home/', mode: 0o700, uid: 1234, gid: 1234 },
        { name: 'home/file', content: 'x', mode: 0o640, uid: 1234, gid: 1234 },
        { name: 'bin/suid', content: 'x', mode: 0o4755 },
        { name: 'bin/sgid', content: 'x', mode: 0o2711, gid: 1234 },
        { name: 'tmp/', mode: 0o1777 },
      ]);
      await driver.createReadWrite('child', 'lyr');
      const t = await view('child');
      assert.deepEqual([t.get('home')?.mode, t.get('home')?.uid, t.get('home')?.gid], [0o700, 1234, 1234]);
      assert.deepEqual([t.get('home/file')?.mode, t.get('home/file')?.uid], [0o640, 1234]);
      assert.equal(t.get('bin/suid')?.mode, 0o4755);
      assert.deepEqual([t.get('bin/sgid')?.mode, t.get('bin/sgid')?.gid], [0o2711, 1234]);
      assert.equal(t.get('tmp')?.mode, 0o1777);
      const entries = new Map((await readTar(await driver.diff('lyr', null))).map((e) => [e.name, e]));
      assert.deepEqual([entries.get('bin/suid')?.mode, entries.get('home/file')?.uid], [0o4755, 1234]);
    });

    it(`mounts a chain of ${chain} layers with every file visible`, { timeout: 300_000 * (opts.timeScale ?? 1) }, async () => {
      let parent: string | null = null;
      for (let i = 0; i < chain; i++) {
        const id = `layer-${i}`;
        await layer(id, parent, [{ name: `files/f${i}`, content: String(i) }, ...(i === Math.floor(chain / 2) ? [{ name: 'files/.wh.f10' }] : [])]);
        parent = id;
      }
      await driver.createReadWrite('container', parent);
      const t = await view('container');
      for (let i = 0; i < chain; i++) {
        if (i === 10) assert.equal(t.has('files/f10'), false, 'deleted halfway up');
        else assert.equal(t.get(`files/f${i}`)?.content, String(i), `f${i}`);
      }
    });

    it('removes layers; removing a missing layer is a no-op', async () => {
      await layer('base', null, [{ name: 'f', content: 'x' }]);
      await driver.create('child', 'base');
      await driver.remove('child');
      assert.equal(await driver.exists('child'), false);
      await driver.remove('child');
      await driver.remove('never-existed');
      assert.equal(await driver.exists('base'), true);
      await driver.create('child', 'base'); // the id can be reused
      assert.deepEqual(await names('child'), ['f']);
    });

    it('finds its layers again after a restart', async () => {
      await layer('base', null, [{ name: 'f', content: 'x' }]);
      await layer('child', 'base', [{ name: 'g', content: 'y' }]);
      await driver.dispose();
      driver = await factory(root);
      assert.equal(await driver.exists('child'), true);
      assert.deepEqual(await names('child'), ['f', 'g']);
      assert.deepEqual((await driver.changes('child', 'base')), [{ Path: '/g', Kind: 1 }]);
    });

    it('reports status rows', async () => {
      const rows = await driver.status();
      assert.ok(rows.length > 0);
      for (const r of rows) assert.ok(r.length === 2 && typeof r[0] === 'string' && typeof r[1] === 'string' && r[0].length > 0);
    });

    it('can be disposed twice, releasing what is still held', async () => {
      await layer('base', null, [{ name: 'f', content: 'x' }]);
      await driver.createReadWrite('rw', 'base');
      await driver.get('rw');
      await driver.dispose();
      await driver.dispose();
      assert.deepEqual(await mountsUnder(root), []);
    });

    describe('hostile layer tars never write outside the layer', () => {
      let outside: string;
      let before: string;
      let passwd: string;
      beforeEach(async () => {
        outside = join(dir, 'outside');
        await mkdir(outside);
        await writeFile(join(outside, 'secret'), 'untouched');
        before = await fingerprint(join(outside, 'secret'));
        passwd = await fingerprint('/etc/passwd');
        await driver.create('victim', null);
      });
      const up = '../'.repeat(40);
      /** Applies each tar on its own (a refused entry stops its tar, so attacks are not chained). */
      const attempt = async (...tars: TarSpec[][]) => {
        for (const entries of tars) {
          try { await driver.applyDiff('victim', null, await tarOf(entries)); } catch { /* refusing is fine */ }
        }
        assert.equal(await fingerprint(join(outside, 'secret')), before);
        assert.deepEqual(await readdir(outside), ['secret']);
        assert.equal(await fingerprint('/etc/passwd'), passwd);
      };

      it('../ escapes', () => attempt(
        [{ name: `${up}${outside.slice(1)}/escaped`, content: 'x' }],
        [{ name: `a/${up}${outside.slice(1)}/secret`, content: 'x' }],
      ));
      it('absolute paths', () => attempt([{ name: `${outside}/abs`, content: 'x' }, { name: `${outside}/secret`, content: 'x' }]));
      it('a symlink, then writing through it', () => attempt(
        [{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/secret', content: 'x' }, { name: 'link/new', content: 'x' }],
        [{ name: 'rel', type: 'symlink', linkname: `${up}${outside.slice(1)}` }, { name: 'rel/secret', content: 'x' }],
        [{ name: 'link/secret', content: 'x' }], // the symlink from an earlier layer tar is still there
      ));
      it('a hard link to /etc/passwd (and to a file outside, then overwritten)', () => attempt(
        [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }, { name: 'pw', content: 'root::0:0::/:/bin/sh\n' }],
        [{ name: 'pw2', type: 'link', linkname: `${up}etc/passwd` }],
        [{ name: 'sec', type: 'link', linkname: `${outside}/secret` }, { name: 'sec', content: 'overwritten' }],
        [{ name: 'hop', type: 'symlink', linkname: outside }, { name: 'sec2', type: 'link', linkname: 'hop/secret' }],
      ));
      it('whiteouts through a symlink', () => attempt(
        [{ name: 'out', type: 'symlink', linkname: outside }, { name: 'out/.wh.secret' }],
        [{ name: 'out/.wh..wh..opq' }],
        [{ name: `${up}${outside.slice(1)}/.wh.secret` }],
      ));
    });
  });
}
