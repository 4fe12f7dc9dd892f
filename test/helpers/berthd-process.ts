import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BERTHD = join(REPO_ROOT, 'bin', 'berthd');

export interface BerthdProcess {
  dir: string;
  socket: string;
  configFile: string;
  child: ChildProcess;
  stderr(): string;
  /** Runs the real docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<number | null>;
}

/**
 * Starts bin/berthd on its own temp data-root, exec-root, pidfile, socket and
 * daemon.json (never a system path), and waits for `/_ping`.
 */
export async function startBerthd(config: object = {}, extraArgs: string[] = []): Promise<BerthdProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-'));
  const socket = join(dir, 'berth.sock');
  const configFile = join(dir, 'daemon.json');
  await writeFile(configFile, JSON.stringify(config));
  const child = spawn(BERTHD, ['--config-file', configFile, '-H', `unix://${socket}`,
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid'), ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const proc: BerthdProcess = {
    dir,
    socket,
    configFile,
    child,
    stderr: () => err,
    docker(args, opts = {}) {
      const r = spawnSync('docker', args, {
        env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, 'docker-config') },
        input: opts.input,
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 30_000,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
  const t0 = Date.now();
  while (!(existsSync(socket) && (await ping(socket)))) {
    if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}: ${err}`);
    if (Date.now() - t0 > 20_000) { await proc.stop(); throw new Error(`berthd did not start: ${err}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Runs berthd to completion (for --validate, --version, and refused configs). */
export function runBerthd(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BERTHD, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const dockerCliAvailable = spawnSync('docker', ['--version']).status === 0;
