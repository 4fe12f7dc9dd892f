import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLayerTar } from '../../../plugins/graph-common/tar-applier.js';
import { readXattrs } from '../../../plugins/graph-common/xattrs.js';
import { fingerprint, readTree, tarOf, userXattrsSupported } from '../../conformance/tar-fixtures.js';

describe('graph-common applyLayerTar', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-apply-'));
    root = join(tmp, 'layer');
    outside = join(tmp, 'outside');
    await mkdir(root);
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'keep');
  });
  afterEach(async () => { await rm(tmp, { recursive: true, force: true }); });

  it('unpacks files, dirs, symlinks, hardlinks, modes, owners and returns the data size', async () => {
    const size = await applyLayerTar(root, await tarOf([
      { name: 'etc/', mode: 0o750, uid: 1234, gid: 1234 },
      { name: 'etc/conf', content: 'hello', mode: 0o640, uid: 1234, gid: 1234 },
      { name: 'bin/su', content: 'suid!', mode: 0o4755 },
      { name: 'etc/link', type: 'symlink', linkname: '/etc/conf' },
      { name: 'etc/hard', type: 'link', linkname: 'etc/conf' },
    ]));
    assert.equal(size, 10);
    const t = await readTree(root);
    assert.deepEqual({ ...t.get('etc'), ino: 0 }, { type: 'dir', mode: 0o750, uid: 1234, gid: 1234, ino: 0 });
    assert.equal(t.get('etc/conf')?.content, 'hello');
    assert.equal(t.get('etc/conf')?.uid, 1234);
    assert.equal(t.get('bin/su')?.mode, 0o4755);
    assert.equal(t.get('bin')?.type, 'dir', 'implied parent created');
    assert.equal(t.get('etc/link')?.target, '/etc/conf');
    assert.equal(t.get('etc/hard')?.ino, t.get('etc/conf')?.ino);
    assert.equal((await stat(join(root, 'etc/conf'))).mtime.toISOString(), '2024-01-02T03:04:05.000Z');
  });

  it('gives every file its exact mode: those created with it (0644, 0755, 0400) and those set after (bits the umask cuts, set-id, sticky)', async () => {
    const modes = [0o644, 0o755, 0o400, 0o001, 0o666, 0o777, 0o4755, 0o2750, 0o1777, 0o6711];
    await applyLayerTar(root, await tarOf(modes.map((mode, i) => ({ name: `m/f${i}`, content: `file ${i}`, mode, uid: i % 2 ? 1000 + i : 0, gid: i % 2 ? 1000 + i : 0 }))));
    for (const [i, mode] of modes.entries()) {
      const st = await stat(join(root, `m/f${i}`));
      assert.equal(st.mode & 0o7777, mode, `f${i} mode ${mode.toString(8)}`);
      assert.equal(st.uid, i % 2 ? 1000 + i : 0, `f${i} uid`);
      assert.equal(await readFile(join(root, `m/f${i}`), 'utf8'), `file ${i}`);
      assert.equal(st.mtime.toISOString(), '2024-01-02T03:04:05.000Z', `f${i} mtime`);
    }
  });

  it('gives root-owned entries group 0 inside set-group-ID directories of another group', async () => {
    await mkdir(join(root, 'pre'));
    await chown(join(root, 'pre'), 0, 4321);
    await chmod(join(root, 'pre'), 0o2775);
    await applyLayerTar(root, await tarOf([
      { name: 'g/', mode: 0o2775, gid: 1234 }, { name: 'g/f', content: 'f' }, { name: 'g/d/' }, { name: 'g/l', type: 'symlink', linkname: 'f' },
      { name: 'pre/f', content: 'f' }, { name: 'pre/sub/f', content: 'f' },
    ]));
    const t = await readTree(root);
    for (const p of ['g/f', 'g/d', 'g/l', 'pre/f', 'pre/sub/f']) assert.deepEqual([p, t.get(p)?.uid, t.get(p)?.gid], [p, 0, 0]);
    assert.equal(t.get('g')?.gid, 1234);
    assert.equal(t.get('pre/sub')?.gid, 4321, 'an implied parent is made as MkdirAll makes it: no chown, as in dockerd');
  });

  it('applies whiteouts and opaque markers by deleting in remove mode', async () => {
    await applyLayerTar(root, await tarOf([
      { name: 'a', content: '1' }, { name: 'b', content: '2' },
      { name: 'd/', }, { name: 'd/x', content: 'x' }, { name: 'd/y', content: 'y' },
      { name: 'gone/' }, { name: 'gone/deep', content: 'z' },
    ]));
    await applyLayerTar(root, await tarOf([
      { name: '.wh.a' }, { name: '.wh.gone' },
      { name: 'd/' }, { name: 'd/.wh..wh..opq' }, { name: 'd/z', content: 'new' },
    ]));
    assert.deepEqual([...(await readTree(root)).keys()].sort(), ['b', 'd', 'd/z']);
  });

  it('keeps entries unpacked before the opaque marker, and ignores `.wh..`', async () => {
    await applyLayerTar(root, await tarOf([{ name: 'd/old', content: 'o' }, { name: 'keep', content: 'k' }]));
    await applyLayerTar(root, await tarOf([{ name: 'd/new', content: 'n' }, { name: 'd/.wh..wh..opq' }, { name: 'd/.wh..' }, { name: '.wh..' }]));
    assert.deepEqual([...(await readTree(root)).keys()].sort(), ['d', 'd/new', 'keep']);
  });

  it('writes overlay whiteouts and the opaque xattr in overlay mode', async () => {
    await applyLayerTar(root, await tarOf([{ name: '.wh.gone' }, { name: 'd/' }, { name: 'd/.wh..wh..opq' }, { name: 'd/f', content: 'f' }]), { whiteouts: 'overlay' });
    const st = await lstat(join(root, 'gone'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
    assert.equal((await readXattrs(join(root, 'd'))).get('trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(await readFile(join(root, 'd/f'), 'utf8'), 'f');
  });

  it('creates device nodes and FIFOs', async () => {
    await applyLayerTar(root, await tarOf([
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]));
    const t = await readTree(root);
    assert.equal(t.get('dev/null')?.type, 'char');
    assert.equal(t.get('dev/null')?.mode, 0o666);
    assert.equal(t.get('run/fifo')?.type, 'fifo');
  });

  it('sets xattrs from PAX SCHILY.xattr records', async (t) => {
    if (!(await userXattrsSupported(root))) return t.skip('user xattrs unsupported here');
    await applyLayerTar(root, await tarOf([{ name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.note': 'héllo' } }]));
    assert.equal((await readXattrs(join(root, 'f'))).get('user.note')?.toString('utf8'), 'héllo');
  });

  it('replaces a directory with a file and a file with a directory', async () => {
    await applyLayerTar(root, await tarOf([{ name: 'x/inner', content: '1' }, { name: 'y', content: '2' }]));
    await applyLayerTar(root, await tarOf([{ name: 'x', content: 'file now' }, { name: 'y/' }, { name: 'y/in', content: '3' }]));
    const t = await readTree(root);
    assert.equal(t.get('x')?.content, 'file now');
    assert.equal(t.get('y')?.type, 'dir');
    assert.equal(t.has('x/inner'), false);
  });

  describe('hostile tars never write outside the root', () => {
    const up = '../'.repeat(30);
    async function expectContained(build: () => ReturnType<typeof tarOf>) {
      const before = await fingerprint(join(outside, 'secret'));
      const passwd = await fingerprint('/etc/passwd');
      await applyLayerTar(root, await build()).catch(() => undefined);
      assert.equal(await fingerprint(join(outside, 'secret')), before);
      assert.equal(await fingerprint('/etc/passwd'), passwd);
      assert.deepEqual((await readTree(outside)).size, 1, 'nothing new outside');
    }

    it('rejects ../ names', async () => {
      const tar = () => tarOf([{ name: `${up}${outside.slice(1)}/escape`, content: 'x' }]);
      await assert.rejects(applyLayerTar(root, await tar()), /outside of/);
      await expectContained(tar);
    });

    it('keeps absolute names inside the root', async () => {
      await applyLayerTar(root, await tarOf([{ name: `${outside}/abs`, content: 'x' }]));
      assert.equal(await readFile(join(root, outside, 'abs'), 'utf8'), 'x');
      await expectContained(() => tarOf([{ name: `${outside}/abs2`, content: 'x' }]));
    });

    it('does not write through a symlink pointing outside (absolute or relative)', async () => {
      await expectContained(() => tarOf([
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/through', content: 'x' },
        { name: 'evil/secret', content: 'overwritten' },
        { name: 'rel', type: 'symlink', linkname: `${up}${outside.slice(1)}` },
        { name: 'rel/secret', content: 'overwritten' },
      ]));
      assert.equal(await readFile(join(root, outside, 'through'), 'utf8'), 'x', 'resolved inside the root');
    });

    it('does not follow a pre-existing symlink in the root', async () => {
      await symlink(outside, join(root, 'pre'));
      await symlink(join(outside, 'secret'), join(root, 'leaf'));
      await expectContained(() => tarOf([{ name: 'pre/secret', content: 'overwritten' }, { name: 'leaf', content: 'overwritten' }]));
    });

    it('refuses hardlinks to files outside the root', async () => {
      await assert.rejects(applyLayerTar(root, await tarOf([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }])), /no such file in the layer/);
      await assert.rejects(applyLayerTar(root, await tarOf([{ name: 'pw', type: 'link', linkname: `${up}etc/passwd` }])), /outside of/);
      await expectContained(() => tarOf([
        { name: 'sec', type: 'link', linkname: `${outside}/secret` },
        { name: 'sec', content: 'overwritten' },
      ]));
      await expectContained(() => tarOf([
        { name: 'lnk', type: 'symlink', linkname: outside },
        { name: 'h', type: 'link', linkname: 'lnk/secret' },
      ]));
    });

    // The applier remembers directories it has checked; every way a later entry can turn one into
    // something else must make it check again.
    it('re-checks a directory replaced by a symlink later in the same layer', async () => {
      await expectContained(() => tarOf([
        { name: 'd/' }, { name: 'd/a', content: 'a' }, { name: 'deep/b/c/f', content: 'f' },
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'd/secret', content: 'overwritten' }, { name: 'd/new', content: 'x' },
        { name: 'deep', type: 'symlink', linkname: `${up}${outside.slice(1)}` },
        { name: 'deep/b/c/secret', content: 'overwritten' },
      ]));
      assert.equal(await readFile(join(root, outside, 'new'), 'utf8'), 'x', 'resolved inside the root');
      assert.equal(await readFile(join(root, outside, 'b/c/secret'), 'utf8'), 'overwritten', 'relative escape resolved inside the root too');
    });

    it('re-checks a directory replaced by a file or a hard link', async () => {
      await assert.rejects(applyLayerTar(root, await tarOf([
        { name: 'd/a', content: 'a' }, { name: 'd', content: 'now a file' }, { name: 'd/b', content: 'b' },
      ])), /not a directory/);
      await rm(root, { recursive: true, force: true });
      await mkdir(root);
      await assert.rejects(applyLayerTar(root, await tarOf([
        { name: 'f', content: 'f' }, { name: 'd/a', content: 'a' }, { name: 'd', type: 'link', linkname: 'f' }, { name: 'd/b', content: 'b' },
      ])), /not a directory/);
      assert.equal(await readFile(join(root, 'f'), 'utf8'), 'f');
    });

    it('re-checks directories removed by whiteouts and opaque markers', async () => {
      await applyLayerTar(root, await tarOf([{ name: 'p/q/z', content: 'z' }, { name: 'o/q/z', content: 'z' }]));
      await expectContained(() => tarOf([
        { name: 'p/q/y', content: 'y' }, { name: '.wh.p' },
        { name: 'p', type: 'symlink', linkname: outside }, { name: 'p/q/secret', content: 'overwritten' },
      ]));
      await expectContained(() => tarOf([
        { name: 'o/q/y', content: 'y' }, { name: '.wh..wh..opq' },
        { name: 'o', type: 'symlink', linkname: outside }, { name: 'o/secret', content: 'overwritten' },
      ]));
      for (const whiteouts of ['overlay', 'remove'] as const) {
        await rm(root, { recursive: true, force: true });
        await mkdir(root);
        await applyLayerTar(root, await tarOf([
          { name: 'w/q/y', content: 'y' }, { name: '.wh.w' },
          { name: 'w', type: 'symlink', linkname: outside }, { name: 'w/q/secret', content: 'overwritten' },
        ]), { whiteouts }).catch(() => undefined);
        assert.equal(await readFile(join(outside, 'secret'), 'utf8'), 'keep', `${whiteouts} mode`);
        assert.equal((await readTree(outside)).size, 1, `${whiteouts} mode: nothing new outside`);
      }
    });

    it('does not delete outside through whiteouts', async () => {
      await symlink(outside, join(root, 'out'));
      await expectContained(() => tarOf([{ name: 'out/.wh.secret' }, { name: `${outside}/.wh.secret` }]));
      await expectContained(() => tarOf([{ name: 'out/.wh..wh..opq' }]));
      await expectContained(() => tarOf([{ name: '.wh.out' }]));
      await symlink(outside, join(root, 'out2'));
      await expectContained(() => tarOf([{ name: '.wh..wh..opq' }]));
      assert.deepEqual((await readTree(root)).size, 0, 'the links themselves were removed');
    });
  });
});
