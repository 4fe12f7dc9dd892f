import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError } from '../../../kernel/index.js';
import { graphDriverSuite } from '../../conformance/graph-driver.suite.js';
import { VfsDriver } from '../../../plugins/graph-vfs/vfs-driver.js';
import vfsPlugin from '../../../plugins/graph-vfs/manifest.js';
import { parseVfsOptions } from '../../../plugins/graph-vfs/vfs-options.js';

graphDriverSuite('vfs', (root) => VfsDriver.open(root));

describe('graph-vfs specifics', () => {
  it('parses storage-opts with dockerd wording', () => {
    assert.deepEqual(parseVfsOptions([]), { bestEffortXattrs: false, size: 0 });
    assert.equal(parseVfsOptions(['vfs.xattrs=i_want_broken_containers']).bestEffortXattrs, true);
    assert.throws(() => parseVfsOptions(['overlay2.size=1G']), (e: Error) => e instanceof InvalidParameterError && e.message === 'unknown option overlay2.size for vfs');
    assert.throws(() => parseVfsOptions(['vfs.xattrs=yes']), /willing to accept the consequences/);
    assert.throws(() => parseVfsOptions(['novalue']), /unable to parse storage-opt key\/value: novalue/);
    assert.throws(() => parseVfsOptions(['size=10G']), /does not support, or has not enabled quotas/);
  });

  it('stores layers under dir/<id> with parent pointers in meta/<id>.json', async () => {
    const root = await mkdtemp(join(tmpdir(), 'berth-vfs-'));
    try {
      const d = await VfsDriver.open(root);
      await d.create('a', null);
      await d.create('b', 'a');
      assert.equal(await d.get('b'), join(root, 'dir', 'b'));
      await d.put('b');
      assert.equal(JSON.parse(await readFile(join(root, 'meta', 'b.json'), 'utf8')).parent, 'a');
      assert.equal(await d.parentOf('b'), 'a');
      await assert.rejects(d.create('c', null, { storageOpt: { size: '1G' } }), /not supported for vfs on read-only layers/);
      await assert.rejects(d.createReadWrite('c', null, { storageOpt: { foo: '1' } }), /Storage opt foo not supported/);
      await assert.rejects(d.create('../x', null), InvalidParameterError);
      await d.dispose();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('is a graph-driver.v1 plugin named vfs, last in priority', () => {
    assert.equal(vfsPlugin.id, 'graph-vfs');
    assert.equal(vfsPlugin.point, 'graph-driver.v1');
    assert.equal(vfsPlugin.name, 'vfs');
    assert.equal(vfsPlugin.swap, 'restart-only');
    assert.equal(vfsPlugin.priority, 50);
    assert.deepEqual(vfsPlugin.daemonKeys, ['storage-opts']);
  });
});
