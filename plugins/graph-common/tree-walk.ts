import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

export interface TreeEntry {
  /** Root-relative path without a leading slash. */
  rel: string;
  abs: string;
  st: Stats;
}

/**
 * Walks a directory tree depth-first, parents before children, names sorted
 * within each directory, never following symlinks. Layer tars are written in
 * this order so that an unpacker always meets a directory before its contents.
 * `descend` may veto entering a directory. Entries that vanish mid-walk are skipped.
 */
export async function* walkTree(root: string, descend: (e: TreeEntry) => boolean = () => true): AsyncGenerator<TreeEntry> {
  yield* walkDir(root, '', descend);
}

async function* walkDir(root: string, relDir: string, descend: (e: TreeEntry) => boolean): AsyncGenerator<TreeEntry> {
  const names = await listDir(join(root, relDir));
  for (const name of names) {
    const rel = relDir ? `${relDir}/${name}` : name;
    const abs = join(root, rel);
    const st = await lstatOrNull(abs);
    if (!st) continue;
    const entry = { rel, abs, st };
    yield entry;
    if (st.isDirectory() && descend(entry)) yield* walkDir(root, rel, descend);
  }
}

/** Sorted directory names; a missing directory lists as empty. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort(compareNames);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Byte-wise name order (tar tools and Go sort strings by bytes, not by locale). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Linux dev_t split (glibc's gnu_dev_major/minor). */
export function devMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
export function devMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}
