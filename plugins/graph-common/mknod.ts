import { runCommand } from './run-command.js';

export interface NodeSpec {
  path: string;
  /** c: character device, b: block device, p: FIFO. */
  kind: 'c' | 'b' | 'p';
  /** Permission bits (0..0o7777). */
  mode: number;
  major?: number;
  minor?: number;
}

/**
 * Creates device nodes and FIFOs. Node has no mknod(2), so this feeds one
 * `sh` a script of `mknod` calls: a layer with a thousand overlay whiteouts
 * then costs one spawn, not a thousand. Returns the paths that failed (EPERM
 * in a user namespace, EEXIST…) with the tool's message.
 */
export async function makeNodes(nodes: NodeSpec[]): Promise<Array<{ path: string; error: string }>> {
  if (nodes.length === 0) return [];
  const script = nodes
    .map((n, i) => {
      const dev = n.kind === 'p' ? '' : ` ${n.major ?? 0} ${n.minor ?? 0}`;
      const mode = (n.mode & 0o7777).toString(8).padStart(4, '0');
      return `e=$(mknod -m ${mode} -- ${shellQuote(n.path)} ${n.kind}${dev} 2>&1) || printf '${i}\\t%s\\n' "$e" >&2`;
    })
    .join('\n');
  const r = await runCommand('sh', ['-s'], { input: script + '\n' });
  const failed: Array<{ path: string; error: string }> = [];
  for (const line of r.stderr.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const node = nodes[Number(line.slice(0, tab))];
    if (node) failed.push({ path: node.path, error: line.slice(tab + 1) });
  }
  return failed;
}

/** POSIX single-quote quoting: safe for any byte string but NUL. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
