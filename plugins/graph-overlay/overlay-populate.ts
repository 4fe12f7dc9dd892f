import type { Stats } from 'node:fs';
import { chown, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry } from '../../kernel/index.js';
import { runCommand } from '../graph-common/run-command.js';
import { OVERLAY_OPAQUE_XATTR } from '../graph-common/whiteouts.js';
import { xattrToolsAvailable } from '../graph-common/xattrs.js';

/**
 * GraphDriver.populate for overlay2: the init layer's placeholders written
 * straight into its upper (diff) dir, with no mount. Mounting and unmounting
 * the init layer costs two processes and, at unmount, a sync of the whole
 * backing filesystem — hundreds of milliseconds per `docker create` on a busy
 * disk. Writing an unmounted upper dir is allowed (the kernel only forbids
 * changing layers under a live mount).
 *
 * An entry is created only where the merged view has nothing, as the mounted
 * check does. The view is resolved here from the diff dirs, top first: a
 * whiteout (char device 0/0) hides what is below, a directory is merged with
 * the directories below it unless it is opaque. Whether a directory is
 * opaque needs its xattrs, which Node cannot read: the directories that
 * matter (those above the layer an answer came from) are checked with one
 * `getfattr` call, only when there are any (never for one-layer images). A
 * symlink or a file where a parent directory should be, an opaque directory,
 * or no xattr tools: the answer is false and nothing is written, so the caller
 * mounts and lets the kernel decide.
 *
 * Parent directories the upper dir lacks are created with the mode and owner
 * of the directory they stand for, as overlay's copy-up would.
 */
export async function populateUpper(upper: string, lowers: readonly string[], entries: readonly LayerEntry[]): Promise<boolean> {
  const layers = [upper, ...lowers];
  const mustNotBeOpaque = new Set<string>();
  const seen = new Map<string, Lookup>();
  const find = async (rel: string): Promise<Lookup> => {
    let got = seen.get(rel);
    if (!got) {
      got = await lookup(layers, rel, mustNotBeOpaque);
      seen.set(rel, got);
    }
    return got;
  };
  // Plan: every entry and its parents, resolved before anything is written.
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = await find(parts.slice(0, i).join('/'));
      if (parent.kind === 'unknown' || parent.kind === 'other') return false;
    }
    if ((await find(e.path)).kind === 'unknown') return false;
  }
  if (mustNotBeOpaque.size > 0 && !(await noneOpaque([...mustNotBeOpaque]))) return false;

  for (const e of entries) {
    if ((await find(e.path)).kind !== 'none') continue;
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (await lstat(join(upper, rel)).then(() => true, () => false)) continue;
      const below = seen.get(rel)?.st;
      await mkdir(join(upper, rel), { mode: below ? below.mode & 0o7777 : 0o755 });
      if (below) await chown(join(upper, rel), below.uid, below.gid);
      // What exists in the upper dir now: later entries must see it.
      seen.set(rel, { kind: 'dir', st: below });
    }
    if (e.type === 'dir') await mkdir(join(upper, e.path), { mode: e.mode });
    else await writeFile(join(upper, e.path), '', { mode: e.mode });
    seen.set(e.path, { kind: e.type === 'dir' ? 'dir' : 'other' });
  }
  return true;
}

interface Lookup {
  kind: 'dir' | 'other' | 'none' | 'unknown';
  /** The topmost directory at that path, when kind is dir (its mode and owner). */
  st?: Stats;
}

/**
 * What the merged view of `layers` (top first) has at `rel`, walking one
 * component at a time. Directories that would hide the answer if they were
 * opaque are added to `mustNotBeOpaque`.
 */
async function lookup(layers: readonly string[], rel: string, mustNotBeOpaque: Set<string>): Promise<Lookup> {
  const parts = rel.split('/');
  // The layers in which the path so far is a directory (merged), top first.
  let dirs: string[] = [...layers];
  let top: Stats | undefined;
  for (let i = 0; i < parts.length; i++) {
    const sub = parts.slice(0, i + 1).join('/');
    const parent = parts.slice(0, i).join('/');
    const next: string[] = [];
    let found: Stats | undefined;
    for (let k = 0; k < dirs.length; k++) {
      const st = await lstat(join(dirs[k]!, sub)).catch(() => undefined);
      if (!st) continue;
      if (st.isCharacterDevice() && st.rdev === 0) break; // a whiteout: nothing here or below
      // Layers above k hold the parent as a directory without this entry: if one is opaque, k is
      // hidden. (A layer's root is never opaque to the kernel: it merges every layer's root.)
      if (next.length === 0 && i > 0) for (const above of dirs.slice(0, k)) mustNotBeOpaque.add(join(above, parent));
      if (st.isDirectory()) {
        if (next.length === 0) found = st;
        next.push(dirs[k]!);
        continue;
      }
      if (next.length === 0) found = st;
      break; // a non-directory hides everything below it
    }
    if (!found) return { kind: 'none' };
    if (!found.isDirectory()) {
      if (i === parts.length - 1) return { kind: 'other' };
      return { kind: 'unknown' }; // a symlink or file where a directory is needed: let the kernel resolve it
    }
    top = found;
    dirs = next;
  }
  return { kind: 'dir', st: top };
}

/** True when none of the directories carries overlay's opaque xattr (one getfattr for all). */
async function noneOpaque(dirs: string[]): Promise<boolean> {
  if (!(await xattrToolsAvailable())) return false;
  const r = await runCommand('getfattr', ['-h', '--absolute-names', '-n', OVERLAY_OPAQUE_XATTR, '--', ...dirs]);
  // getfattr exits 1 when some file lacks the attribute; any other failure leaves the answer open.
  if (r.code !== 0 && r.code !== 1) return false;
  if (r.stdout.toString('utf8').includes(OVERLAY_OPAQUE_XATTR)) return false;
  return !/(?:^|\n)(?!.*No such attribute).+/.test(r.stderr);
}
