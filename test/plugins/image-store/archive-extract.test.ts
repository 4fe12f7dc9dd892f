import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ExtractedArchive } from '../../../plugins/image-store/archive-extract.js';
import { makeTar } from '../../conformance/tar-fixtures.js';

/**
 * ExtractedArchive's onFile hook: `docker load` boots its layer workers when
 * a file big enough to need one starts arriving, from the size in its tar
 * header, before its bytes; so the hook must hear every regular file's size,
 * in archive order, ahead of the data, and nothing for dirs and links.
 */
describe('image-store ExtractedArchive onFile (sizes heard as each file starts)', () => {
  it('reports each regular file\'s size before its bytes are written, and only files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-extract-'));
    try {
      const big = 'b'.repeat(300_000);
      const tar = await makeTar([
        { name: 'layer-0/', mode: 0o755 },
        { name: 'layer-0/layer.tar', content: big },
        { name: 'layer-1/', mode: 0o755 },
        { name: 'layer-1/layer.tar', content: 'small' },
        { name: 'layer-2', type: 'symlink', linkname: 'layer-1' },
        { name: 'manifest.json', content: '[]' },
      ]);
      const heard: number[] = [];
      let bytesAtFirst = -1;
      // Fed in small chunks: the first file's size must be known when few of its bytes have arrived.
      let fed = 0;
      const chunks = Array.from({ length: Math.ceil(tar.length / 4096) }, (_, i) => tar.subarray(i * 4096, (i + 1) * 4096));
      const input = Readable.from((function* () { for (const c of chunks) { fed += c.length; yield c; } })());
      const archive = await ExtractedArchive.extract(input, dir, (size) => {
        if (heard.length === 0) bytesAtFirst = fed;
        heard.push(size);
      });
      assert.deepEqual(heard, [300_000, 5, 2]);
      assert.ok(bytesAtFirst > 0 && bytesAtFirst < 300_000, `first size heard after ${bytesAtFirst} bytes of the archive`);
      assert.equal(await readFile(join(archive.root, 'layer-0', 'layer.tar'), 'utf8'), big);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
