import { connect, type Socket } from 'node:net';
import { request } from 'node:http';

/**
 * A hand-made HTTP/1.1 client on berthd's unix socket, for what the docker
 * CLI hides: the 101 handshake and its headers, raw bytes after the switch,
 * half-closes, and how a stream ends.
 */
export interface RawExchange {
  socket: Socket;
  /** Status line and headers (lower-case names). */
  head: Promise<{ status: number; statusLine: string; headers: Record<string, string> }>;
  /** Bytes after the headers, so far. */
  body(): Buffer;
  /** Resolves when the daemon closes the connection. */
  closed: Promise<void>;
}

export function rawExchange(socketPath: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; upgrade?: boolean } = {}): RawExchange {
  const socket = connect(socketPath);
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.from(opts.body);
  const headers: Record<string, string> = { Host: 'api.moby.localhost', ...(opts.upgrade ? { Connection: 'Upgrade', Upgrade: 'tcp' } : {}), ...opts.headers };
  if (body.length && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) headers['Content-Length'] = String(body.length);
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
  let buf = Buffer.alloc(0);
  let headerEnd = -1;
  let resolveHead!: (h: { status: number; statusLine: string; headers: Record<string, string> }) => void;
  const head = new Promise<{ status: number; statusLine: string; headers: Record<string, string> }>((r) => { resolveHead = r; });
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (headerEnd < 0) {
      headerEnd = buf.indexOf('\r\n\r\n');
      if (headerEnd >= 0) {
        const [statusLine = '', ...rest] = buf.subarray(0, headerEnd).toString('latin1').split('\r\n');
        const h: Record<string, string> = {};
        for (const l of rest) h[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
        resolveHead({ status: Number(statusLine.split(' ')[1]), statusLine, headers: h });
      }
    }
  });
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('error', () => undefined);
  return { socket, head, body: () => (headerEnd < 0 ? Buffer.alloc(0) : buf.subarray(headerEnd + 4)), closed };
}

/** An ordinary JSON request (node's http client) on the unix socket. */
export function apiJson(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    // No keep-alive: a pooled socket the daemon closed meanwhile (keepAliveTimeout) would fail with EPIPE.
    const req = request({ socketPath, method, path, agent: false, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = text;
        try { json = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Splits stdcopy frames: [stream, payload] pairs. */
export function frames(buf: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    out.push([buf[i]!, buf.subarray(i + 8, i + 8 + len).toString('utf8')]);
    i += 8 + len;
  }
  return out;
}
