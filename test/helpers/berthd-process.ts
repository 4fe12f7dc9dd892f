import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BERTHD = join(REPO_ROOT, 'bin', 'berthd');
/** Stretches the helpers' waits where everything runs slowly (BERTH_TEST_TIME_SCALE=10 inside the emulated dm VM). */
const TIME_SCALE = Number(process.env.BERTH_TEST_TIME_SCALE ?? 1) || 1;

export interface BerthdProcess {
  dir: string;
  socket: string;
  configFile: string;
  child: ChildProcess;
  stderr(): string;
  /** Runs the real docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  /** Stops the daemon (SIGTERM, or SIGKILL with `kill: true`) and starts it again on the same directories. */
  restart(opts?: { kill?: boolean }): Promise<void>;
  stop(): Promise<number | null>;
}

/**
 * Host networking of a test daemon. By default none at all (`"bridge":
 * "none"`, no iptables, no ip_forward change): containers get loopback
 * only, as under dockerd with `-b none`, and concurrent test daemons never
 * meet on a bridge or a chain. Network tests take `networkTestConfig()`:
 * their own chain prefix, default bridge name and address pool.
 */
function withTestNetworking(config: object, extraArgs: string[]): object {
  const given = new Set([...Object.keys(config), ...extraArgs.map((a) => a.replace(/^--?/, '').split('=')[0]!)]);
  if (given.has('b')) given.add('bridge');
  const out: Record<string, unknown> = { ...config };
  if (!given.has('bridge') && !given.has('bip') && !('berth' in config && JSON.stringify(config).includes('network-service'))) out.bridge = 'none';
  if (!given.has('iptables') && out.bridge === 'none') out.iptables = false;
  if (!given.has('ip-forward')) out['ip-forward'] = false;
  return out;
}

/**
 * daemon.json for a network test daemon: a default bridge, iptables rules
 * and user networks that cannot clash with another daemon's (its own chain
 * prefix, bridge name and `default-address-pools` base; subnets are still
 * checked against the host's routes, so two daemons never share one).
 */
export function networkTestConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = randomBytes(3).toString('hex');
  const octet = 64 + (randomBytes(1)[0]! % 180);
  return {
    'ip-forward': false,
    // Names the embedded DNS does not know go to the host's loopback, never to a resolver off the machine.
    dns: ['127.0.0.1'],
    'default-address-pools': [{ base: `10.${octet}.0.0/16`, size: 24 }],
    ...extra,
    berth: { plugins: { 'net-bridge': { chainPrefix: `BT${tag.toUpperCase()}` }, 'network-service': { defaultBridge: `bt${tag}0` } } },
  };
}

/**
 * Starts bin/berthd on its own temp data-root, exec-root, pidfile, socket and
 * daemon.json (never a system path), and waits for `/_ping`. `dataRoot` puts
 * the data root elsewhere (a test filesystem such as a loop-mounted btrfs).
 */
export async function startBerthd(config: object = {}, extraArgs: string[] = [], opts: { dataRoot?: string } = {}): Promise<BerthdProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-e2e-'));
  const socket = join(dir, 'berth.sock');
  const configFile = join(dir, 'daemon.json');
  await writeFile(configFile, JSON.stringify(withTestNetworking(config, extraArgs)));
  const argv = ['--config-file', configFile, '-H', `unix://${socket}`,
    '--data-root', opts.dataRoot ?? join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'berthd.pid'), ...extraArgs];
  let err = '';
  const launch = () => {
    const c = spawn(BERTHD, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (d) => { err += d; });
    return c;
  };
  const stopChild = async (c: ChildProcess, signal: NodeJS.Signals) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  const waitReady = async (c: ChildProcess) => {
    const t0 = Date.now();
    while (!(existsSync(socket) && (await ping(socket)))) {
      if (c.exitCode !== null) throw new Error(`berthd exited with ${c.exitCode}: ${err}`);
      if (Date.now() - t0 > 20_000 * TIME_SCALE) throw new Error(`berthd did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const child = launch();
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
        timeout: opts.timeoutMs ?? 30_000 * TIME_SCALE,
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    async restart(opts = {}) {
      await stopChild(proc.child, opts.kill ? 'SIGKILL' : 'SIGTERM');
      proc.child = launch();
      await waitReady(proc.child);
    },
    async stop() {
      await stopChild(proc.child, 'SIGTERM');
      await rm(dir, { recursive: true, force: true });
      return proc.child.exitCode;
    },
  };
  try {
    await waitReady(child);
  } catch (e) {
    await proc.stop();
    throw e;
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

/** Whether berthd can run on overlay2 here (kernel and backing filesystem allow it); starts a daemon once to find out. */
export async function overlay2Supported(): Promise<boolean> {
  if (!dockerCliAvailable) return false;
  const d = await startBerthd({ 'storage-driver': 'overlay2' }).catch(() => null);
  if (!d) return false;
  await d.stop();
  return true;
}
