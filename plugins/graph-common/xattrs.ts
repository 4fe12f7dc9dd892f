import { CommandMissingError, runCommand } from './run-command.js';

/** One file's extended attributes: name → raw value. */
export type XattrMap = Map<string, Buffer>;
/** A tree's extended attributes keyed by root-relative path (`''` is the root). */
export type XattrTable = Map<string, XattrMap>;

export interface XattrWrite {
  path: string;
  name: string;
  value: Buffer;
}

/*
 * Node has no xattr API, so this module drives getfattr/setfattr (Debian
 * package `attr`) in bulk: one getfattr walks a whole tree, one setfattr
 * --restore applies a whole batch. Per-file spawning would make a layer with
 * thousands of files take minutes.
 */

let available: Promise<boolean> | undefined;

/** Whether getfattr and setfattr are installed (checked once per process). */
export function xattrToolsAvailable(): Promise<boolean> {
  available ??= Promise.all([probe('getfattr'), probe('setfattr')]).then(([a, b]) => a && b);
  return available;
}

async function probe(cmd: string): Promise<boolean> {
  try {
    await runCommand(cmd, ['--version']);
    return true;
  } catch (err) {
    if (err instanceof CommandMissingError) return false;
    throw err;
  }
}

/**
 * Every xattr of every file under root, symlinks included and never followed
 * (`-P -h`). Files that vanish during the walk are skipped (getfattr reports
 * them on stderr). Returns an empty table when the tools are missing.
 */
export async function readXattrTree(root: string): Promise<XattrTable> {
  const table: XattrTable = new Map();
  if (!(await xattrToolsAvailable())) return table;
  const r = await runCommand('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', root]);
  for (const [abs, attrs] of parseDump(r.stdout)) {
    const rel = abs === root ? '' : abs.startsWith(root + '/') ? abs.slice(root.length + 1) : null;
    if (rel !== null) table.set(rel, attrs);
  }
  return table;
}

/** The xattrs of one path (not following a final symlink). */
export async function readXattrs(path: string): Promise<XattrMap> {
  if (!(await xattrToolsAvailable())) return new Map();
  const r = await runCommand('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', path]);
  return parseDump(r.stdout).get(path) ?? new Map();
}

/**
 * Sets a batch of xattrs (not following final symlinks). setfattr keeps going
 * after a failure, so the result lists the lines it complained about; the
 * caller decides whether that is fatal (dockerd: yes, unless best-effort).
 */
export async function writeXattrs(items: XattrWrite[]): Promise<{ ok: boolean; errors: string }> {
  if (items.length === 0) return { ok: true, errors: '' };
  if (!(await xattrToolsAvailable())) {
    return { ok: false, errors: 'setfattr not found (install the Debian package "attr")' };
  }
  const r = await runCommand('setfattr', ['-h', '--restore=-'], { input: restoreInput(items) });
  return { ok: r.code === 0, errors: r.stderr };
}

/** Parses `getfattr -d -e base64` output: "# file: <quoted path>" blocks of `name=0s<base64>` lines. */
export function parseDump(out: Buffer): Map<string, XattrMap> {
  const result = new Map<string, XattrMap>();
  let current: XattrMap | undefined;
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end < 0) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) { current = undefined; continue; }
    const text = line.toString('latin1');
    if (text.startsWith('# file: ')) {
      current = new Map();
      result.set(unquote(line.subarray(8)), current);
      continue;
    }
    if (!current) continue;
    const eq = text.indexOf('=');
    if (eq < 0) { current.set(unquote(line), Buffer.alloc(0)); continue; }
    const name = unquote(line.subarray(0, eq));
    const raw = text.slice(eq + 1);
    current.set(name, decodeValue(raw));
  }
  return result;
}

function decodeValue(raw: string): Buffer {
  if (raw.startsWith('0s')) return Buffer.from(raw.slice(2), 'base64');
  if (raw.startsWith('0x')) return Buffer.from(raw.slice(2), 'hex');
  if (raw.startsWith('"') && raw.endsWith('"')) return Buffer.from(raw.slice(1, -1), 'latin1');
  return Buffer.from(raw, 'latin1');
}

/** getfattr escapes backslash, control bytes and `=` as `\ooo`; other bytes (UTF-8 too) are raw. */
function unquote(bytes: Buffer): string {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x5c && i + 3 < bytes.length && /^[0-7]{3}$/.test(bytes.toString('latin1', i + 1, i + 4))) {
      out.push(parseInt(bytes.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out).toString('utf8');
}

/** The inverse of unquote as raw bytes: UTF-8 stays as is, backslash and control bytes become `\ooo`. */
function quotePath(path: string): Buffer {
  const out: number[] = [];
  for (const c of Buffer.from(path, 'utf8')) {
    if (c < 0x20 || c === 0x5c || c === 0x7f) out.push(...Buffer.from('\\' + c.toString(8).padStart(3, '0'), 'latin1'));
    else out.push(c);
  }
  return Buffer.from(out);
}

/** setfattr --restore input for a batch. */
export function restoreInput(items: XattrWrite[]): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    parts.push(Buffer.from('# file: ', 'latin1'), quotePath(it.path), Buffer.from('\n', 'latin1'));
    parts.push(Buffer.from(`${it.name}=0s${it.value.toString('base64')}\n\n`, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** Two xattr maps hold the same names and values. */
export function sameXattrs(a: XattrMap | undefined, b: XattrMap | undefined): boolean {
  const sa = a ?? new Map<string, Buffer>();
  const sb = b ?? new Map<string, Buffer>();
  if (sa.size !== sb.size) return false;
  for (const [k, v] of sa) {
    const w = sb.get(k);
    if (!w || !w.equals(v)) return false;
  }
  return true;
}
