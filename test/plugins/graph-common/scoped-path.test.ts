import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEntryName, resolveInRoot } from '../../../plugins/graph-common/scoped-path.js';

describe('graph-common scoped paths', () => {
  it('cleans tar names and refuses to climb out', () => {
    assert.equal(cleanEntryName('./a/b/'), 'a/b');
    assert.equal(cleanEntryName('/etc/passwd'), 'etc/passwd');
    assert.equal(cleanEntryName('a/../b'), 'b');
    assert.equal(cleanEntryName('.'), '');
    assert.equal(cleanEntryName('../x'), null);
    assert.equal(cleanEntryName('a/../../x'), null);
  });

  it('follows symlinks only inside the root', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-scope-'));
    try {
      await mkdir(join(root, 'real'));
      await symlink('/etc', join(root, 'abs'));
      await symlink('../../../../..', join(root, 'up'));
      await symlink('real', join(root, 'rel'));
      await symlink('loop', join(root, 'loop'));
      assert.equal(await resolveInRoot(root, 'abs/passwd'), join(root, 'etc/passwd'));
      assert.equal(await resolveInRoot(root, 'up/etc/passwd'), join(root, 'etc/passwd'));
      assert.equal(await resolveInRoot(root, 'rel/x'), join(root, 'real/x'));
      assert.equal(await resolveInRoot(root, 'abs'), join(root, 'abs'), 'final component not followed');
      assert.equal(await resolveInRoot(root, 'abs', true), join(root, 'etc'));
      await assert.rejects(resolveInRoot(root, 'loop/x'), /too many levels/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
