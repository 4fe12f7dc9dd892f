import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIdentity } from '../../kernel/identity.js';

describe('kernel/identity', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-identity-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('makes a UUID engine-id on a new data root (mode 0600) and keeps it across loads', async () => {
    const first = await loadIdentity(dir);
    assert.match(first.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(first.name, os.hostname());
    assert.equal(await readFile(join(dir, 'engine-id'), 'utf8'), first.id);
    assert.equal((await stat(join(dir, 'engine-id'))).mode & 0o777, 0o600);
    assert.equal((await loadIdentity(dir)).id, first.id);
  });

  it('keeps an existing engine-id as written (dockerd data roots included)', async () => {
    const other = await mkdtemp(join(tmpdir(), 'berth-identity-'));
    try {
      await writeFile(join(other, 'engine-id'), 'f3b1c0de-0000-4000-8000-000000000001\n');
      assert.equal((await loadIdentity(other)).id, 'f3b1c0de-0000-4000-8000-000000000001');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
