import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../../kernel/fs/remove-tree.js';

/** Whether strace is installed (the call-count test needs it). */
const haveStrace = spawnSync('sh', ['-c', 'command -v strace']).status === 0;

describe('kernel/fs/removeTree', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-remove-tree-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  /** A tree with files, nested and empty directories, a FIFO and symlinks (one to a directory outside it). */
  function makeTree(root: string, outside: string): void {
    mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'f1'), 'one');
    writeFileSync(join(root, 'a', 'f2'), 'two');
    writeFileSync(join(root, 'a', 'b', 'c', 'f3'), 'three');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    symlinkSync(outside, join(root, 'a', 'to-outside'));
    symlinkSync('does-not-exist', join(root, 'dangling'));
  }

  it('removes a whole tree, and unlinks symlinks without following them', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'keep'), 'kept');
    const root = join(dir, 'tree');
    makeTree(root, outside);
    await removeTree(root);
    assert.equal(existsSync(root), false);
    // The directory a symlink pointed at, and its content, are untouched.
    assert.deepEqual(await readdir(outside), ['keep']);
  });

  it('is a no-op for a missing path, and removes a plain file given as the path', async () => {
    await removeTree(join(dir, 'never-there'));
    const f = join(dir, 'plain');
    writeFileSync(f, 'x');
    await removeTree(f);
    assert.equal(existsSync(f), false);
  });

  it('removes entries whose names are not UTF-8 (Buffer paths end to end)', async () => {
    const root = join(dir, 'bytes');
    mkdirSync(root);
    const bad = Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74])]);
    writeFileSync(bad, 'latin-1 name');
    mkdirSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0xe9, 0x64])]));
    await removeTree(root);
    assert.equal(existsSync(root), false);
  });

  it('reports a failure after attempting every entry', async () => {
    // A directory that cannot be listed (a file where a dir is expected is fine: it is unlinked);
    // removal below a read-only bind is not portable, so use a path component that is a file.
    const root = join(dir, 'fails');
    mkdirSync(root);
    writeFileSync(join(root, 'x'), 'x');
    await assert.rejects(removeTree(join(root, 'x', 'below')), { code: 'ENOTDIR' });
    assert.equal((await stat(join(root, 'x'))).isFile(), true);
  });

  it('uses one call per entry and two per directory (no lstat, no failing first rmdir)', { skip: !haveStrace && 'strace is not installed' }, async () => {
    const root = join(dir, 'counted');
    makeTree(root, dir);
    // 6 non-directories (f1, a/f2, a/b/c/f3, fifo, two symlinks) and 5 directories (root, a, b, c, empty).
    const script = `import('${join(import.meta.dirname, '../../../kernel/fs/remove-tree.js')}').then((m) => m.removeTree(${JSON.stringify(root)}))`;
    const out = spawnSync('strace', ['-f', '-qq', '-e', 'trace=unlink,unlinkat,rmdir,statx,lstat,newfstatat,openat,getdents64', '-e', 'signal=none', process.execPath, '-e', script], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(existsSync(root), false);
    const calls = out.stderr.split('\n').filter((l) => l.includes(root));
    const count = (re: RegExp) => calls.filter((l) => re.test(l)).length;
    assert.equal(count(/\bunlink(at)?\(/), 6, calls.join('\n'));
    assert.equal(count(/\brmdir\(/), 5, calls.join('\n'));
    assert.equal(count(/\b(statx|lstat|newfstatat)\(/), 0, calls.join('\n'));
    assert.equal(count(/\bopenat\(/), 5, calls.join('\n'));
  });
});
