import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError } from '../../../kernel/index.js';
import { TarSplitter, assembleTar, assembledSize } from '../../../plugins/image-store/tar-split.js';
import { makeTar } from '../../conformance/tar-fixtures.js';
import { sha256sum } from '../../helpers/image-archives.js';

async function split(data: Buffer, file: string): Promise<TarSplitter> {
  const s = new TarSplitter();
  s.saveTo(file);
  const sink = (async () => { for await (const _ of s) { /* drain */ } })();
  await Promise.all([pipeline(Readable.from([data]), s), sink]);
  await s.close();
  return s;
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('tar-split: layers reassembled byte for byte', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-tarsplit-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reassembles the exact original tar from the unpacked files', async () => {
    const longName = `${'d'.repeat(120)}/${'f'.repeat(130)}.txt`;
    const data = await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/hello', content: 'hello world\n' },
      { name: 'empty', content: '' },
      { name: longName, content: 'long name via PAX' },
      { name: 'big.bin', content: Buffer.alloc(70_000, 7) },
      { name: 'link', type: 'symlink', linkname: 'etc/hello' },
      { name: 'hard', type: 'link', linkname: 'etc/hello' },
      { name: 'etc/.wh.gone', content: '' },
    ]);
    const file = join(dir, 'a.json.gz');
    const s = await split(data, file);
    assert.equal(s.diffId, sha256sum(data));
    assert.equal(s.size, data.length);
    const root = join(dir, 'root-a');
    await mkdir(root);
    execFileSync('tar', ['-C', root, '-xf', '-'], { input: data });
    assert.equal(await assembledSize(file), data.length);
    const again = await collect(assembleTar(file, root));
    assert.ok(again.equals(data), 'reassembled bytes differ');
  });

  it('reads file data through symlinked parents only inside the layer', async () => {
    const data = await makeTar([
      { name: 'real/', type: 'directory' },
      { name: 'via', type: 'symlink', linkname: '/real' },
      { name: 'via/f', content: 'inside' },
    ]);
    const file = join(dir, 'b.json.gz');
    await split(data, file);
    const root = join(dir, 'root-b');
    await mkdir(join(root, 'real'), { recursive: true });
    execFileSync('ln', ['-s', '/real', join(root, 'via')]);
    await writeFile(join(root, 'real', 'f'), 'inside');
    // /real on the host does not exist: resolving `via` must stay in root.
    assert.ok((await collect(assembleTar(file, root))).equals(data));
  });

  it('fails a truncated stream with "unexpected EOF" and a bad header with Go\'s message', async () => {
    const data = await makeTar([{ name: 'f', content: 'x'.repeat(2000) }]);
    await assert.rejects(split(data.subarray(0, 1000), join(dir, 'c.json.gz')), (e: Error) => e instanceof InvalidParameterError && e.message === 'unexpected EOF');
    const bad = Buffer.from(data);
    bad[10] = bad[10]! ^ 0xff; // breaks the checksum
    await assert.rejects(split(bad, join(dir, 'd.json.gz')), (e: Error) => e instanceof InvalidParameterError && e.message === 'archive/tar: invalid tar header');
  });

  it('accepts an empty stream and trailing data after the end blocks', async () => {
    const empty = await split(Buffer.alloc(0), join(dir, 'e.json.gz'));
    assert.equal(empty.diffId, sha256sum(Buffer.alloc(0)));
    const data = Buffer.concat([await makeTar([{ name: 'f', content: 'y' }]), Buffer.from('trailing junk')]);
    const s = await split(data, join(dir, 'g.json.gz'));
    assert.equal(s.diffId, sha256sum(data));
  });
});
