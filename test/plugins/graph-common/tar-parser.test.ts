import { describe, it, before, after } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, link, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { TarParser, TarParseError } from '../../../plugins/graph-common/tar-parser.js';
import type { TarHeader } from '../../../plugins/graph-common/tar-types.js';
import { runCommand } from '../../../plugins/graph-common/run-command.js';
import { makeTar } from '../../conformance/tar-fixtures.js';

interface Seen { h: TarHeader; data: Buffer }

/** Runs the parser over `buf` cut into pieces of `step` bytes (the whole buffer when 0). */
async function parse(buf: Buffer, step = 0, pause = false): Promise<Seen[]> {
  const seen: Seen[] = [];
  let cur: Buffer[] | null = null;
  const parser = new TarParser({
    entry(h) {
      seen.push({ h, data: Buffer.alloc(0) });
      cur = [];
      // A handler that waits now and then must not lose or reorder bytes.
      if (pause && seen.length % 2 === 0) return new Promise((r) => setTimeout(r, 1));
    },
    data(piece) { cur!.push(Buffer.from(piece)); },
    end() { seen[seen.length - 1]!.data = Buffer.concat(cur!); },
  });
  for (let off = 0; off < buf.length; off += step || buf.length) {
    await parser.push(buf.subarray(off, step ? off + step : buf.length));
  }
  parser.finish();
  return seen;
}

/** The same archive as tar-stream reads it: the reference for names, types, owners and data. */
async function reference(buf: Buffer): Promise<Seen[]> {
  const out: Seen[] = [];
  const extract = tar.extract();
  Readable.from([buf]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ h: entry.header as TarHeader, data: Buffer.concat(chunks) });
  }
  return out;
}

/** What both readers must agree on (tar-stream ignores PAX ids, so `bigid` is checked on its own). */
function summary(s: Seen[]) {
  return s.filter(({ h }) => !h.name.endsWith('bigid')).map(({ h, data }) => ({
    name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000), // tar-stream drops PAX sub-second times linkname: h.linkname ?? null,
    data: h.type === 'file' ? createHash('sha256').update(data).digest('hex') : '',
  }));
}

describe('graph-common TarParser', () => {
  let tmp: string;
  let gnuTars: Record<string, Buffer>;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-tarparse-'));
    const src = join(tmp, 'src');
    const long = 'l'.repeat(120);
    await mkdir(join(src, 'dir', long), { recursive: true });
    await writeFile(join(src, 'dir', long, 'file-with-a-long-path'), 'long path\n');
    await writeFile(join(src, 'big'), Buffer.alloc(70_000, 7));
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'ünïcode'), 'u');
    await symlink(`../${'t'.repeat(150)}`, join(src, 'longlink'));
    await link(join(src, 'big'), join(src, 'hard'));
    await writeFile(join(src, 'bigid'), 'x');
    await chown(join(src, 'bigid'), 3_000_000, 4_000_000);
    gnuTars = {};
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = join(tmp, `${format}.tar`);
      // ustar cannot hold the long names or the big ids: leave those out of it.
      const names = format === 'ustar' ? ['./big', './empty', './hard', './ünïcode'] : ['.'];
      const r = await runCommand('tar', ['-C', src, `--format=${format}`, '--numeric-owner', '-cf', out, ...names]);
      assert.equal(r.stderr, '');
      gnuTars[format] = await readFile(out);
    }
  });
  after(async () => { await rm(tmp, { recursive: true, force: true }); });

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads GNU tar's ${format} format as tar-stream does, whatever the chunking`, async () => {
      const buf = gnuTars[format]!;
      const want = summary(await reference(buf));
      assert.ok(want.length >= 4);
      for (const [step, pause] of [[0, false], [1, false], [511, true], [4096, true]] as const) {
        assert.deepEqual(summary(await parse(buf, step, pause)), want, `chunks of ${step}`);
      }
    });
  }

  it('takes owner ids too big for octal fields from PAX records', async () => {
    const e = (await parse(gnuTars.pax!)).find((s) => s.h.name.endsWith('bigid'));
    assert.deepEqual([e?.h.uid, e?.h.gid], [3_000_000, 4_000_000]);
    const g = (await parse(gnuTars.gnu!)).find((s) => s.h.name.endsWith('bigid'));
    assert.deepEqual([g?.h.uid, g?.h.gid], [3_000_000, 4_000_000], 'GNU base-256 numbers');
  });

  it('keeps PAX records (xattrs) and reads device numbers', async () => {
    const buf = await makeTar([
      { name: 'f', content: 'x', pax: { 'SCHILY.xattr.user.a': 'b' } },
      { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
    ]);
    const [f, dev] = await parse(buf);
    assert.equal(f?.h.pax?.['SCHILY.xattr.user.a'], 'b');
    assert.deepEqual([dev?.h.type, dev?.h.devmajor, dev?.h.devminor], ['character-device', 1, 3]);
  });

  it('stops at the end-of-archive marker and ignores what follows', async () => {
    const buf = Buffer.concat([await makeTar([{ name: 'a', content: 'a' }]), Buffer.from('trailing garbage')]);
    assert.deepEqual((await parse(buf)).map((s) => s.h.name), ['a']);
  });

  it('fails a truncated archive with unexpected EOF and a corrupt header as Go does', async () => {
    const buf = await makeTar([{ name: 'a', content: 'x'.repeat(2000) }]);
    await assert.rejects(parse(buf.subarray(0, 1024)), (err: Error) => err instanceof TarParseError && err.message === 'unexpected EOF');
    await assert.rejects(parse(buf.subarray(0, 300)), /unexpected EOF/);
    const bad = Buffer.from(buf);
    bad[10] ^= 0xff;
    await assert.rejects(parse(bad), /archive\/tar: invalid tar header/);
    assert.deepEqual(await parse(Buffer.alloc(0)), [], 'an empty stream is an empty layer');
  });
});
