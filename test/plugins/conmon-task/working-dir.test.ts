import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertValidId, ensureWorkingDir } from '../../../plugins/conmon-task/index.js';

describe('conmon-task: working directory and ids', () => {
  it('creates a missing -w owned by the process user, following symlinks inside the rootfs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'conmon-wd-'));
    try {
      await mkdir(join(root, 'srv'));
      await symlink('/srv', join(root, 'app')); // absolute: must resolve inside the rootfs, not to the host's /srv
      await ensureWorkingDir(root, '/app/data/x', 1234, 2345);
      const made = join(root, 'srv', 'data', 'x');
      assert.ok(existsSync(made));
      if (process.getuid?.() === 0) {
        assert.equal(statSync(made).uid, 1234);
        assert.equal(statSync(join(root, 'srv', 'data')).gid, 2345);
      }
      assert.equal(statSync(join(root, 'srv')).uid, process.getuid?.(), 'existing directories keep their owner');
      await ensureWorkingDir(root, '/', 1, 1); // nothing to do
      await ensureWorkingDir(root, '/app/data/x', 1, 1); // exists: untouched
      if (process.getuid?.() === 0) assert.equal(statSync(made).uid, 1234);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('accepts ids that are file names only', () => {
    for (const ok of ['abc', 'A1', '0f3e', 'a.b_c-d']) assert.doesNotThrow(() => assertValidId('task', ok));
    for (const bad of ['', '.x', '-x', '_x', 'a/b', '../a', 'a b']) assert.throws(() => assertValidId('exec', bad), new RegExp(`^InvalidParameterError: invalid exec id: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
});
