import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { NotFoundError, errorMessage, toDisposable, type Disposable, type Logger } from '../../kernel/index.js';
import { httpStatusOf, STATUS_TEXT } from './error-mapping.js';
import { checkVersion, commonHeaders, splitVersion } from './version.js';
import { MAX_API_VERSION } from '../engine-version.js';

/**
 * Hijacked endpoints (attach, exec start): the client sends `Connection:
 * Upgrade` / `Upgrade: tcp`, Node hands us the raw socket through the
 * server's 'upgrade' event, and we answer `HTTP/1.1 101 UPGRADED` ourselves
 * (pitfall 1). From then on the client sends raw stdin; we send raw or
 * stdcopy-framed output. Koa never sees these requests.
 */
export interface HijackArgs {
  conn: HijackedConnection;
  params: Record<string, string>;
  query: URLSearchParams;
  version: string;
  req: IncomingMessage;
}

export interface HijackRoute {
  method: string;
  /** Matched against the path with the version prefix stripped; named groups become params. */
  path: RegExp;
  /** Route id, as for ordinary routes (adapters key on it). */
  route: string;
  handle(args: HijackArgs): Promise<void>;
}

export interface HijackOptions {
  minVersion(): string;
  experimental(): boolean;
}

export class HijackRouter {
  private readonly routes: HijackRoute[] = [];

  constructor(private readonly log: Logger) {}

  add(route: HijackRoute): Disposable {
    this.routes.push(route);
    return toDisposable(() => {
      const i = this.routes.indexOf(route);
      if (i >= 0) this.routes.splice(i, 1);
    });
  }

  /** Handles one upgrade request; never throws (errors become raw HTTP responses). */
  async handle(req: IncomingMessage, socket: Duplex, head: Buffer, opts: HijackOptions): Promise<void> {
    const headers = commonHeaders(opts.experimental());
    const conn = new HijackedConnection(socket, head, headers, req);
    try {
      const url = new URL(req.url ?? '/', 'http://berth');
      const { version = MAX_API_VERSION, path } = splitVersion(url.pathname);
      checkVersion(version, opts.minVersion());
      for (const r of this.routes) {
        if (r.method !== req.method) continue;
        const m = r.path.exec(path);
        if (!m) continue;
        const params = Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
        await r.handle({ conn, params, query: url.searchParams, version, req });
        return;
      }
      throw new NotFoundError('page not found');
    } catch (err) {
      if (conn.isUpgraded) {
        this.log.debug('hijacked stream ended with error', { error: err });
        conn.destroy();
      } else {
        conn.fail(err);
      }
    }
  }
}

/** One hijacked connection: the socket plus the bytes that arrived with the headers. */
export class HijackedConnection {
  private upgraded = false;
  private pendingHead: Buffer;

  constructor(
    readonly socket: Duplex,
    head: Buffer,
    private readonly headers: Record<string, string>,
    private readonly req: IncomingMessage,
  ) {
    this.pendingHead = head;
    // Streams live as long as the process; never time them out.
    (socket as Duplex & { setTimeout?: (ms: number) => void; setNoDelay?: (b: boolean) => void }).setTimeout?.(0);
    (socket as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  }

  get isUpgraded(): boolean {
    return this.upgraded;
  }

  /**
   * Reads a request body that precedes the raw stream (exec start's JSON):
   * exactly Content-Length bytes, from the head buffer first, then the socket.
   * Anything after it stays queued as stdin.
   */
  async readBody(): Promise<Buffer> {
    const length = Number(this.req.headers['content-length'] ?? 0);
    if (!length) return Buffer.alloc(0);
    let buf = this.pendingHead;
    while (buf.length < length) {
      const chunk = await new Promise<Buffer | null>((resolve) => {
        const onData = (c: Buffer) => { cleanup(); resolve(c); };
        const onEnd = () => { cleanup(); resolve(null); };
        const cleanup = () => { this.socket.off('data', onData); this.socket.off('end', onEnd); this.socket.pause(); };
        this.socket.on('data', onData);
        this.socket.once('end', onEnd);
        this.socket.resume();
      });
      if (chunk === null) break;
      buf = Buffer.concat([buf, chunk]);
    }
    this.pendingHead = buf.subarray(Math.min(length, buf.length));
    return buf.subarray(0, length);
  }

  /**
   * Switches protocols: 101 UPGRADED when the client asked for an upgrade,
   * `200 OK` otherwise (moby does the same), with the stream's Content-Type.
   */
  upgrade(contentType: string): void {
    if (this.upgraded) return;
    this.upgraded = true;
    const asked = /upgrade/i.test(String(this.req.headers.connection ?? '')) && !!this.req.headers.upgrade;
    const lines = asked
      ? ['HTTP/1.1 101 UPGRADED', `Content-Type: ${contentType}`, 'Connection: Upgrade', 'Upgrade: tcp']
      : ['HTTP/1.1 200 OK', `Content-Type: ${contentType}`];
    for (const [k, v] of Object.entries(this.headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    if (this.pendingHead.length > 0) {
      this.socket.unshift(this.pendingHead);
      this.pendingHead = Buffer.alloc(0);
    }
  }

  /**
   * Switches to another protocol with a status line and headers of the
   * caller's choosing (the websocket handshake); bytes that came with the
   * request are handed back to the socket, as for `upgrade`.
   */
  switchProtocols(lines: string[]): void {
    if (this.upgraded) return;
    this.upgraded = true;
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    if (this.pendingHead.length > 0) {
      this.socket.unshift(this.pendingHead);
      this.pendingHead = Buffer.alloc(0);
    }
  }

  /** Answers an error before the upgrade as an ordinary HTTP response, then closes. */
  fail(err: unknown): void {
    const status = httpStatusOf(err);
    const body = status === 304 ? '' : JSON.stringify({ message: errorMessage(err) }) + '\n';
    const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
    for (const [k, v] of Object.entries(this.headers)) lines.push(`${k}: ${v}`);
    this.socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
  }

  /**
   * Ends our side once all output is written. The client may already have
   * half-closed its side (no stdin): that must not stop our output (pitfall 2).
   */
  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
