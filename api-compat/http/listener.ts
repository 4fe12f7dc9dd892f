import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { InvalidParameterError, NotImplementedError, type Logger } from '../../kernel/index.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * The listening side of the API: one node:http server per `-H` address.
 * The servers call whatever request/upgrade handlers are installed now, so a
 * reload can swap the application without closing sockets (a unix socket
 * cannot be bound twice).
 */
export class ApiListener {
  private readonly servers: Array<{ server: Server; address: string; socketPath?: string }> = [];
  private request: RequestHandler = (_req, res) => { res.statusCode = 503; res.end(); };
  private upgrade: UpgradeHandler = (_req, socket) => socket.destroy();
  /**
   * Set while the sockets listen before the daemon can serve (bound during
   * start-up): a request waits here instead of being answered early, so the
   * first /_ping that succeeds comes from a daemon that can serve everything.
   */
  private held?: { ready: Promise<boolean>; open: (served: boolean) => void };

  constructor(private readonly log: Logger) {}

  /** Makes requests that arrive from now on wait for `release()`. */
  hold(): void {
    if (this.held) return;
    let open!: (served: boolean) => void;
    const ready = new Promise<boolean>((resolve) => { open = resolve; });
    this.held = { ready, open };
  }

  /** Serves the requests that waited, and every later one directly. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.open(true);
  }

  setHandlers(request: RequestHandler, upgrade: UpgradeHandler): void {
    this.request = request;
    this.upgrade = upgrade;
  }

  addresses(): string[] {
    return this.servers.map((s) => s.address);
  }

  async listen(hosts: readonly string[], group?: string): Promise<void> {
    // Read while the sockets are being set up: listening is the last step before the daemon answers.
    const groupFile = readFile('/etc/group', 'utf8').catch(() => '');
    for (const host of hosts) {
      const server = createServer((req, res) => {
        const held = this.held;
        if (!held) return this.request(req, res);
        void held.ready.then((served) => (served ? this.request(req, res) : res.destroy()));
      });
      // Uploads (load, import, build contexts, archives) can take minutes;
      // streams (events, logs -f, attach) last as long as the client wants.
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      server.setTimeout(0);
      // dockerd never closes an idle keep-alive connection; clients that pool them
      // (Node's global agent, docker-modem) would otherwise race our close and get EPIPE.
      server.keepAliveTimeout = 0;
      server.on('upgrade', (req, socket, head) => {
        const held = this.held;
        if (!held) return this.upgrade(req, socket, head);
        void held.ready.then((served) => (served ? this.upgrade(req, socket, head) : socket.destroy()));
      });
      server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); });
      const target = parseHost(host);
      if (target.kind === 'unix') {
        await prepareSocketPath(target.path);
        await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(target.path, () => resolve()); });
        await Promise.all([chmod(target.path, 0o660), chownToGroup(target.path, group, await groupFile, this.log)]);
        this.servers.push({ server, address: `unix://${target.path}`, socketPath: target.path });
      } else {
        await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(target.port, target.host, () => resolve()); });
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : target.port;
        if (!isLoopback(target.host)) this.log.warn('API listening on a TCP address without TLS: anyone who can reach it controls the daemon', { host });
        this.servers.push({ server, address: `tcp://${target.host}:${port}` });
      }
      this.log.info('API listen', { address: this.servers[this.servers.length - 1]!.address });
    }
  }

  async close(): Promise<void> {
    // Requests still waiting for a start-up that never finished are dropped, not served.
    const held = this.held;
    this.held = undefined;
    held?.open(false);
    const all = this.servers.splice(0);
    await Promise.all(all.map(async ({ server, socketPath }) => {
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      if (socketPath) await unlink(socketPath).catch(() => {});
    }));
  }
}

type Target = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses a dockerd `-H` value: unix:///path, tcp://host[:port], or a bare path/host. */
export function parseHost(host: string): Target {
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length);
    if (!path.startsWith('/')) throw new InvalidParameterError(`invalid unix socket address ${host}: the path must be absolute`);
    return { kind: 'unix', path };
  }
  if (host.startsWith('fd://')) throw new NotImplementedError('fd:// (systemd socket activation) listeners are not supported by berthd');
  if (host.startsWith('npipe://')) throw new NotImplementedError('npipe:// listeners exist only on Windows');
  if (host.startsWith('/')) return { kind: 'unix', path: host };
  const rest = host.startsWith('tcp://') ? host.slice('tcp://'.length) : host;
  const url = new URL(`tcp://${rest}`);
  if (url.pathname && url.pathname !== '/' && url.pathname !== '') {
    throw new InvalidParameterError(`invalid bind address (${rest}): should not contain a path element`);
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { kind: 'tcp', host: hostname, port: url.port ? Number(url.port) : 2375 };
}

async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new InvalidParameterError(`cannot listen on ${path}: the file exists and is not a socket`);
  await unlink(path); // a stale socket from a previous run, as dockerd removes it
}

/**
 * dockerd gives its socket to group "docker" when that group exists: a missing
 * default group is a warning, a missing group named by the user an error.
 */
async function chownToGroup(path: string, group: string | undefined, groups: string, log: Logger): Promise<void> {
  const name = group || 'docker';
  const line = groups.split('\n').find((l) => l.split(':')[0] === name);
  const gid = line ? Number(line.split(':')[2]) : NaN;
  if (!Number.isFinite(gid)) {
    if (name !== 'docker') throw new InvalidParameterError(`can't create unix socket ${path}: group ${name} not found`);
    log.warn(`could not change group ${path} to ${name}: group ${name} not found`);
    return;
  }
  await chown(path, 0, gid);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
