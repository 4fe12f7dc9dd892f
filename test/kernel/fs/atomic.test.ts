import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFile, replaceFileSynced, writeFileAtomic } from '../../../kernel/fs/atomic.js';

describe('kernel/fs/atomic', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-atomic-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('replaceFileSynced replaces the content and mode, and leaves no temp file', async () => {
    const p = join(dir, 'rec.json');
    await writeFileAtomic(p, '{"v":1}', 0o600);
    await replaceFileSynced(p, '{"v":2}', 0o600);
    assert.equal(await readFile(p, 'utf8'), '{"v":2}');
    assert.equal((await stat(p)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['rec.json']);
  });

  it('replaceFileSynced fails without touching the old content when the directory is gone', async () => {
    const p = join(dir, 'missing', 'rec.json');
    await assert.rejects(replaceFileSynced(p, 'x'), { code: 'ENOENT' });
  });

  it('each writer leaves the old or the new content under concurrent readers', async () => {
    const p = join(dir, 'busy.json');
    await writeFile(p, 'a'.repeat(4096));
    let reading = true;
    const seen = new Set<string>();
    const reader = (async () => { while (reading) seen.add((await readFile(p, 'utf8')).slice(0, 1) + (await readFile(p, 'utf8')).length); })();
    for (const [i, write] of [replaceFileSynced, replaceFile, writeFileAtomic].entries()) await write(p, String.fromCharCode(98 + i).repeat(4096));
    reading = false;
    await reader;
    for (const s of seen) assert.match(s, /^[abcd]4096$/);
    assert.equal(await readFile(p, 'utf8'), 'd'.repeat(4096));
  });
});
