import { spawn } from 'node:child_process';
import { commandPath, forgetCommandPath } from '../../lib/command-path.js';

// Lives in lib/ (the Perl helpers use it too); the graph drivers and their tests import it from here.
export { commandPath };

/** Result of a finished external command; stdout stays binary because getfattr prints raw file-name bytes. */
export interface CommandResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The binary is not installed; callers turn this into a skip or a fallback, not a crash. */
export class CommandMissingError extends Error {
  constructor(readonly command: string) {
    super(`${command}: command not found`);
    this.name = 'CommandMissingError';
  }
}

/**
 * Runs a helper binary (mount, getfattr, mknod…) without a shell and collects
 * its output. Node has no mount(2), xattr or mknod(2) bindings, so the graph
 * drivers lean on these few standard tools; this is the one place that spawns them.
 */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(commandPath(cmd), args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') forgetCommandPath(cmd);
      reject(e.code === 'ENOENT' ? new CommandMissingError(cmd) : e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8').trim() }));
    child.stdin.on('error', () => { /* the child may exit before reading all input; its exit code tells */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** Like runCommand, but a non-zero exit is an error carrying stderr. */
export async function runChecked(cmd: string, args: string[], opts: { cwd?: string; input?: string | Buffer } = {}): Promise<CommandResult> {
  const r = await runCommand(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || `exit status ${r.code}`}`);
  return r;
}
