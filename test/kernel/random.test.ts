import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomHexId, randomUuid } from '../../kernel/random.js';

describe('kernel/random', () => {
  it('gives version-4 RFC 4122 UUIDs, all different', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const u = await randomUuid();
      assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(u);
    }
    assert.equal(seen.size, 200);
  });

  it('uses every random bit outside the version and variant fields', async () => {
    // OR of many UUIDs: each free bit is set in at least one of them (a fixed or
    // truncated byte would stay 0).
    const or = Buffer.alloc(16);
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from((await randomUuid()).replace(/-/g, ''), 'hex');
      for (let j = 0; j < 16; j++) or[j]! |= b[j]!;
    }
    assert.equal(or.toString('hex'), 'ffffffffffff4fffbfffffffffffffff');
  });

  it('gives 64-hex-digit IDs, all different', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = await randomHexId();
      assert.match(id, /^[0-9a-f]{64}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 200);
  });
});
