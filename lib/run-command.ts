import { spawn } from 'node:child_process';

/**
 * Runs a host tool (ip, iptables-restore, nsenter, unshare) with optional
 * text stdin and resolves its stdout as text, or rejects with its stderr
 * (graph-common's runCommand is the binary-output variant the graph drivers use). Network programming is done through these tools
 * rather than netlink from Node: they are what an admin would type, and a
 * failure message names the exact command.
 */
export function runCommand(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${file} ${args.join(' ')}: ${err.trim() || `exit status ${code}`}`));
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => { /* the child may exit before reading all input; its exit code tells */ });
      child.stdin!.end(input);
    }
  });
}
