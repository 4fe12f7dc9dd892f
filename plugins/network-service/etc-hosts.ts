import { readFile, writeFile } from 'node:fs/promises';

/**
 * Live edits of a running container's /etc/hosts when it is connected to
 * or disconnected from a network (libnetwork's etchosts.Add/Delete). The
 * file is bind-mounted into the container, so it is rewritten in place
 * (same inode) rather than replaced by a rename.
 */
export async function addHostsEntry(path: string, ip: string, names: string[]): Promise<void> {
  const text = await readFile(path, 'utf8');
  await writeFile(path, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${ip}\t${names.join(' ')}\n`);
}

export async function removeHostsEntry(path: string, ip: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const kept = text.split('\n').filter((l) => l.split(/\s+/)[0] !== ip);
  await writeFile(path, kept.join('\n'));
}
