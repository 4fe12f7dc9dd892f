import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../../kernel/index.js';
import { ReferenceStore } from '../../../plugins/image-store/reference-store.js';
import { parseNormalizedNamed } from '../../../plugins/image-store/reference.js';
import { tempDir } from '../../helpers/kernel-fixtures.js';

const ID = `sha256:${'a'.repeat(64)}`;

describe('ReferenceStore on a new data root', () => {
  it('opens empty without writing repositories.json, writes it with the first tag, and reads it back', async () => {
    const dir = await tempDir();
    const path = join(dir.path, 'repositories.json');
    const store = await ReferenceStore.open(path, silentLogger);
    assert.deepEqual(await readdir(dir.path), [], 'nothing written at open');
    assert.equal(store.get(parseNormalizedNamed('busybox')), undefined);
    await store.addTag(parseNormalizedNamed('busybox:latest'), ID, false);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), { Repositories: { busybox: { 'busybox:latest': ID } } });
    const again = await ReferenceStore.open(path, silentLogger);
    assert.equal(again.get(parseNormalizedNamed('busybox')), ID);
    await dir.cleanup();
  });
});
