import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, link, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyTree } from '../../../plugins/graph-common/copy-tree.js';
import { makeNodes } from '../../../plugins/graph-common/mknod.js';
import { readXattrs, writeXattrs } from '../../../plugins/graph-common/xattrs.js';
import { readTree, userXattrsSupported } from '../../conformance/tar-fixtures.js';

/** readTree with inode numbers replaced by the first path holding the inode (hard links compare, numbers do not). */
async function shape(dir: string) {
  const first = new Map<number, string>();
  const out = new Map<string, unknown>();
  for (const [rel, node] of [...(await readTree(dir))].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!first.has(node.ino)) first.set(node.ino, rel);
    out.set(rel, { ...node, ino: first.get(node.ino), content: node.content?.length });
  }
  return out;
}

describe('graph-common copyTree', () => {
  it('copies modes, owners, links, devices and xattrs', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'berth-copy-'));
    try {
      const src = join(tmp, 'src');
      const dst = join(tmp, 'dst');
      await mkdir(join(src, 'd'), { recursive: true });
      await mkdir(dst);
      await writeFile(join(src, 'd/f'), 'data');
      await chown(join(src, 'd/f'), 1234, 1234);
      await chmod(join(src, 'd/f'), 0o4750);
      await chmod(join(src, 'd'), 0o711);
      await link(join(src, 'd/f'), join(src, 'hard'));
      await symlink('../etc/passwd', join(src, 'sym'));
      assert.deepEqual(await makeNodes([{ path: join(src, 'null'), kind: 'c', mode: 0o666, major: 1, minor: 3 }, { path: join(src, 'fifo'), kind: 'p', mode: 0o600 }]), []);
      const xattrs = await userXattrsSupported(tmp);
      if (xattrs) await writeXattrs([{ path: join(src, 'd/f'), name: 'user.a', value: Buffer.from('b') }]);

      await copyTree(src, dst);
      const a = await readTree(src);
      const b = await readTree(dst);
      assert.deepEqual([...b.keys()], [...a.keys()]);
      for (const [k, v] of a) assert.deepEqual({ ...b.get(k), ino: 0 }, { ...v, ino: 0 }, k);
      assert.equal(b.get('hard')?.ino, b.get('d/f')?.ino, 'hard link kept');
      assert.notEqual(b.get('hard')?.ino, a.get('hard')?.ino, 'but not shared with the source');
      if (xattrs) assert.equal((await readXattrs(join(dst, 'd/f'))).get('user.a')?.toString(), 'b');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('copies large files (in the thread pool, several at once) with their content, metadata, times and hard links', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'berth-copy-big-'));
    try {
      const src = join(tmp, 'src');
      const dst = join(tmp, 'dst');
      await mkdir(join(src, 'big'), { recursive: true });
      await mkdir(dst);
      for (let i = 0; i < 12; i++) {
        const f = join(src, 'big', `f${i}`);
        await writeFile(f, Buffer.alloc(100_000 + i * 50_000, i + 1));
        await chown(f, 1000 + i, 2000 + i);
        await chmod(f, i % 2 ? 0o4755 : 0o640);
        await utimes(f, 1_000_000 + i, 2_000_000 + i);
        if (i % 3 === 0) await link(f, join(src, `hard${i}`));
      }
      await utimes(join(src, 'big'), 3_000_000, 4_000_000);
      await copyTree(src, dst);
      assert.deepEqual(await shape(dst), await shape(src));
      for (let i = 0; i < 12; i++) {
        const s = await stat(join(src, 'big', `f${i}`));
        const d = await stat(join(dst, 'big', `f${i}`));
        assert.equal(d.mtimeMs, s.mtimeMs, `mtime of f${i}`);
        assert.ok((await readFile(join(dst, 'big', `f${i}`))).equals(await readFile(join(src, 'big', `f${i}`))));
        if (i % 3 === 0) assert.equal((await stat(join(dst, `hard${i}`))).ino, d.ino, `hard${i} is a link of f${i}`);
      }
      assert.equal((await stat(join(dst, 'big'))).mtimeMs, (await stat(join(src, 'big'))).mtimeMs);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('copies small files byte for byte with owner, mode (set-id, and bits the umask cuts) and times (empty, at and around the 64 KiB copy buffer)', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'berth-copy-small-'));
    try {
      const src = join(tmp, 'src');
      const dst = join(tmp, 'dst');
      await mkdir(join(src, 's'), { recursive: true });
      await mkdir(dst);
      // Modes the umask would cut (0666, 0777) and set-id ones are set after creation; the others are created exact.
      const sizes = [0, 1, 4095, 65535, 65536, 65537, 2, 3];
      for (const [i, size] of sizes.entries()) {
        const f = join(src, 's', `f${size}`);
        await writeFile(f, Buffer.from(Array.from({ length: size }, (_, k) => (k * 31 + i) & 0xff)));
        if (i % 2) await chown(f, 3000 + i, 4000 + i);
        await chmod(f, [0o644, 0o4755, 0o2711, 0o600, 0o6750, 0o444, 0o666, 0o777][i]!);
        await utimes(f, 1_500_000 + i, 2_500_000 + i);
      }
      await copyTree(src, dst);
      assert.deepEqual(await shape(dst), await shape(src));
      for (const size of sizes) {
        const s = await stat(join(src, 's', `f${size}`));
        const d = await stat(join(dst, 's', `f${size}`));
        assert.equal(d.size, size, `size of f${size}`);
        assert.equal(d.mode, s.mode, `mode of f${size}`);
        assert.deepEqual([d.uid, d.gid], [s.uid, s.gid], `owner of f${size}`);
        assert.equal(d.mtimeMs, s.mtimeMs, `mtime of f${size}`);
        assert.ok((await readFile(join(dst, 's', `f${size}`))).equals(await readFile(join(src, 's', `f${size}`))), `content of f${size}`);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('keeps root:root entries root-owned under a set-group-ID destination', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'berth-copy-'));
    try {
      const src = join(tmp, 'src');
      const dst = join(tmp, 'dst');
      await mkdir(join(src, 'd/e'), { recursive: true });
      await writeFile(join(src, 'd/e/f'), 'data');
      await symlink('f', join(src, 'd/e/l'));
      await chown(join(src, 'd'), 0, 0);
      await mkdir(dst);
      // A new entry in a set-group-ID directory takes the directory's group, not the creator's:
      // the copy must still give each entry the source's owner.
      await chown(dst, 0, 4321);
      await chmod(dst, 0o2755);
      await copyTree(src, dst);
      const a = await readTree(src);
      const b = await readTree(dst);
      for (const k of ['d', 'd/e', 'd/e/f', 'd/e/l']) {
        assert.equal(b.get(k)?.uid, a.get(k)?.uid, `${k} uid`);
        assert.equal(b.get(k)?.gid, a.get(k)?.gid, `${k} gid`);
        assert.equal(b.get(k)?.mode, a.get(k)?.mode, `${k} mode`);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
