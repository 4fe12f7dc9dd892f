import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDump, readXattrTree, writeXattrs } from '../../../plugins/graph-common/xattrs.js';
import { userXattrsSupported } from '../../conformance/tar-fixtures.js';

describe('graph-common xattrs', () => {
  it('parses getfattr dumps with escaped names', () => {
    const dump = Buffer.from('# file: /r/a\\012b\nuser.k=0sdg==\n\n# file: /r/c\\134d\nuser.x=0x6869\nuser.t="t"\n\n', 'latin1');
    const m = parseDump(dump);
    assert.equal(m.get('/r/a\nb')?.get('user.k')?.toString(), 'v');
    assert.equal(m.get('/r/c\\d')?.get('user.x')?.toString(), 'hi');
    assert.equal(m.get('/r/c\\d')?.get('user.t')?.toString(), 't');
  });

  it('writes and reads back a batch, odd file names included', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'berth-xattr-'));
    try {
      if (!(await userXattrsSupported(root))) return t.skip('user xattrs unsupported here');
      const names = ['plain', 'new\nline', 'back\\slash', 'ütf8 space'];
      for (const n of names) await writeFile(join(root, n), '');
      const r = await writeXattrs(names.map((n, i) => ({ path: join(root, n), name: 'user.i', value: Buffer.from([i, 0xff]) })));
      assert.equal(r.ok, true, r.errors);
      const table = await readXattrTree(root);
      names.forEach((n, i) => assert.deepEqual(table.get(n)?.get('user.i'), Buffer.from([i, 0xff]), n));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
