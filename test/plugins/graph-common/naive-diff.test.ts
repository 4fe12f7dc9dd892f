import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, rm, writeFile, chmod, chown, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changesDirs, changesSize } from '../../../plugins/graph-common/changes.js';
import { naiveDiff } from '../../../plugins/graph-common/naive-diff.js';
import { copyTree } from '../../../plugins/graph-common/copy-tree.js';
import { applyLayerTar } from '../../../plugins/graph-common/tar-applier.js';
import { readTar, readTree } from '../../conformance/tar-fixtures.js';

describe('graph-common naive differ', () => {
  let tmp: string;
  let lower: string;
  let upper: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-diff-'));
    lower = join(tmp, 'lower');
    upper = join(tmp, 'upper');
    await mkdir(lower);
    await mkdir(join(lower, 'etc'));
    await writeFile(join(lower, 'etc/keep'), 'same');
    await writeFile(join(lower, 'etc/mod'), 'old');
    await writeFile(join(lower, 'etc/del'), 'bye');
    await mkdir(join(lower, 'olddir/sub'), { recursive: true });
    await writeFile(join(lower, 'olddir/sub/f'), 'f');
    await writeFile(join(lower, 'chmod-me'), 'c');
    await mkdir(upper);
    await copyTree(lower, upper);
  });
  afterEach(async () => { await rm(tmp, { recursive: true, force: true }); });

  it('sees no change in an exact copy', async () => {
    assert.deepEqual((await changesDirs(upper, lower)).changes, []);
  });

  it('lists adds, modifies and deletes with parents first, like docker diff', async () => {
    await writeFile(join(upper, 'etc/mod'), 'new!');
    await rm(join(upper, 'etc/del'));
    await rm(join(upper, 'olddir'), { recursive: true });
    await mkdir(join(upper, 'newdir'));
    await writeFile(join(upper, 'newdir/n'), 'n');
    await chmod(join(upper, 'chmod-me'), 0o600);
    const { changes } = await changesDirs(upper, lower);
    assert.deepEqual(changes, [
      { Path: '/chmod-me', Kind: 0 },
      { Path: '/etc', Kind: 0 },
      { Path: '/etc/del', Kind: 2 },
      { Path: '/etc/mod', Kind: 0 },
      { Path: '/newdir', Kind: 1 },
      { Path: '/newdir/n', Kind: 1 },
      { Path: '/olddir', Kind: 2 },
    ]);
    assert.equal(await changesSize(upper, changes), 1 + 4 + 1);
  });

  it('exports the changes as a tar with whiteouts that re-applies to the same tree', async () => {
    await writeFile(join(upper, 'etc/mod'), 'new!');
    await rm(join(upper, 'etc/del'));
    await rm(join(upper, 'olddir'), { recursive: true });
    await writeFile(join(upper, 'big'), 'b'.repeat(200_000));
    await link(join(upper, 'big'), join(upper, 'big2'));
    await symlink('/nowhere', join(upper, 'sl'));
    await chown(join(upper, 'etc/keep'), 1234, 1234);
    await chmod(join(upper, 'etc/keep'), 0o4755);
    await utimes(join(upper, 'etc/keep'), new Date('2020-01-01'), new Date('2020-01-01'));

    const entries = await readTar(await naiveDiff(upper, lower));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual(entries.map((e) => e.name), ['big', 'big2', 'etc', 'etc/.wh.del', 'etc/keep', 'etc/mod', '.wh.olddir', 'sl']);
    assert.equal(byName.get('big2')?.type, 'link');
    assert.equal(byName.get('big2')?.linkname, 'big');
    assert.equal(byName.get('big')?.content.length, 200_000);
    assert.equal(byName.get('etc/keep')?.mode, 0o4755);
    assert.equal(byName.get('etc/keep')?.uid, 1234);
    assert.equal(byName.get('sl')?.linkname, '/nowhere');

    const replay = join(tmp, 'replay');
    await mkdir(replay);
    await copyTree(lower, replay);
    await applyLayerTar(replay, await naiveDiff(upper, lower));
    const a = await readTree(upper);
    const b = await readTree(replay);
    const strip = (m: Map<string, { ino: number }>) => [...m].map(([k, v]) => [k, { ...v, ino: 0 }]);
    assert.deepEqual(strip(b), strip(a));
    assert.deepEqual((await changesDirs(replay, upper)).changes.filter((c) => c.Path !== '/etc'), []);
  });

  it('exports a whole tree when there is no parent', async () => {
    const names = (await readTar(await naiveDiff(lower, null))).map((e) => e.name);
    assert.deepEqual(names, ['chmod-me', 'etc', 'etc/del', 'etc/keep', 'etc/mod', 'olddir', 'olddir/sub', 'olddir/sub/f']);
  });
});
