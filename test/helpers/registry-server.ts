import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's `docker-registry` (the distribution registry binary). */
export const REGISTRY_BIN = '/usr/bin/docker-registry';
export const registryAvailable = existsSync(REGISTRY_BIN);
export const htpasswdAvailable = spawnSync('htpasswd', ['-h']).error === undefined;

export interface LocalRegistry {
  port: number;
  /** `127.0.0.1:<port>`. */
  host: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `docker-registry` on 127.0.0.1:<free port> with its own config and
 * temp storage; with `basic`, behind htpasswd Basic auth. Never the system
 * service. Stopped by PID.
 */
export async function startRegistry(opts: { basic?: { user: string; password: string } } = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  let auth = '';
  if (opts.basic) {
    const line = execFileSync('htpasswd', ['-Bbn', opts.basic.user, opts.basic.password], { encoding: 'utf8' }).trim();
    await writeFile(join(dir, 'htpasswd'), line + '\n');
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  await writeFile(join(dir, 'config.yml'), `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: berth-test-secret
${auth}`);
  let err = '';
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => { err += d; });
  const t0 = Date.now();
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${err}`);
    if (Date.now() - t0 > 20_000) { child.kill('SIGKILL'); throw new Error(`docker-registry did not start: ${err}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, host: `127.0.0.1:${port}`, dir, pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v2/', timeout: 1000 }, (res) => { res.resume(); resolve(true); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

/** Runs the real docker CLI without blocking the event loop (in-process test servers keep serving). */
export function dockerAsync(socket: string, configDir: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    c.on('close', (status) => { clearTimeout(t); resolve({ status, stdout, stderr }); });
    c.stdin.end(opts.input ?? '');
  });
}
