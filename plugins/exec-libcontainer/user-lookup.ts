import { readFile } from 'node:fs/promises';
import { InvalidParameterError } from '../../kernel/index.js';
import { resolveInRoot } from './rootfs-path.js';
import type { OciUser } from './oci-types.js';

/**
 * Resolves Docker's `-u user[:group]` against the image's /etc/passwd and
 * /etc/group, with the rules of moby/sys/user GetExecUser: names or numbers;
 * a numeric uid need not exist in passwd (then gid 0 and no supplementary
 * groups); a name must; the user's supplementary groups come from /etc/group;
 * `--group-add` entries may be names or numbers. Missing files are an empty
 * database, as in an image without /etc.
 */
export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: readonly string[] = []): Promise<OciUser> {
  const [userPart, groupPart] = splitUserSpec(spec ?? '');
  // Both files are read on every start (root too: its groups): side by side.
  const [passwdText, groupText] = await Promise.all([readDb(rootfs, '/etc/passwd'), readDb(rootfs, '/etc/group')]);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);

  let uid = 0;
  let gid = 0;
  let name = 'root';
  const userNum = toId(userPart);
  const entry = userPart === '' ? passwd.find((p) => p.uid === 0) : passwd.find((p) => (userNum !== undefined ? p.uid === userNum : p.name === userPart));
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  } else if (userNum !== undefined) {
    uid = userNum;
    name = '';
  } else if (userPart !== '') {
    throw new InvalidParameterError(`unable to find user ${userPart}: no matching entries in passwd file`);
  }

  let sgids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    const groupNum = toId(groupPart);
    const g = groups.find((x) => (groupNum !== undefined ? x.gid === groupNum : x.name === groupPart));
    if (g) gid = g.gid;
    else if (groupNum !== undefined) gid = groupNum;
    else throw new InvalidParameterError(`unable to find group ${groupPart}: no matching entries in group file`);
  } else if (name !== '') {
    sgids = groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  }

  const extra = groupAdd.map((ga) => {
    const n = toId(ga);
    const g = groups.find((x) => (n !== undefined ? x.gid === n : x.name === ga));
    if (g) return g.gid;
    if (n !== undefined) return n;
    throw new InvalidParameterError(`Unable to find group ${ga}: no matching entries in group file`);
  });
  return { uid, gid, additionalGids: [gid, ...sgids, ...extra] };
}

function splitUserSpec(spec: string): [string, string | undefined] {
  const i = spec.indexOf(':');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}

function toId(s: string): number | undefined {
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

async function readDb(rootfs: string, path: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootfs, path), 'utf8');
  } catch {
    return '';
  }
}

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || toId(f[2]!) === undefined) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3] || 0), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || toId(f[2]!) === undefined) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}
