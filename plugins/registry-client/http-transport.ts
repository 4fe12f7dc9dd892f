import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { HostTls } from './tls-trust.js';

/**
 * HTTP for registry traffic on node:http/https (not fetch: we need our own
 * CAs per registry host, manual redirects and the socket-level errors).
 * Keep-alive agents are shared per TLS setting, as Go's transport pools
 * connections. Failures read like Go's net/http errors, which is what
 * dockerd prints: `Get "https://h/v2/": dial tcp 127.0.0.1:1: connect:
 * connection refused`.
 */
export interface HttpResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  tls?: HostTls;
  signal?: AbortSignal;
  /** Time until the response headers arrive (Go's Client.Timeout for ping and login). */
  headersTimeoutMs?: number;
  /** A socket idle this long fails the request or the body being read. */
  idleTimeoutMs?: number;
  /** Follow redirects (Go's client does, up to 10, for requests without a body to replay). */
  redirects?: boolean;
}

/** A transport-level failure, worded as Go's *url.Error. */
export class TransportError extends Error {
  constructor(readonly op: string, readonly url: string, override readonly cause: string, readonly code?: string) {
    super(`${op} "${url}": ${cause}`);
  }
}

// Made on first use: node:http stays unloaded until a registry is contacted (and out of berthd's startup snapshot).
let httpAgent: HttpAgent | undefined;
const httpsAgents = new Map<string, HttpsAgent>();

function agentFor(url: URL, tls: HostTls | undefined): HttpAgent | HttpsAgent {
  if (url.protocol === 'http:') return (httpAgent ??= new HttpAgent({ keepAlive: true, maxSockets: 32 }));
  const key = `${url.host}|${tls?.insecure ? 1 : 0}|${tls?.ca?.length ?? 0}|${tls?.cert ? 1 : 0}`;
  let a = httpsAgents.get(key);
  if (!a) {
    a = new HttpsAgent({
      keepAlive: true, maxSockets: 32, ca: tls?.ca, cert: tls?.cert, key: tls?.key,
      rejectUnauthorized: !(tls?.insecure ?? false), minVersion: 'TLSv1.2',
    });
    httpsAgents.set(key, a);
  }
  return a;
}

export function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

export async function request(url: URL, opts: RequestOptions = {}): Promise<HttpResponse> {
  const method = opts.method ?? 'GET';
  let current = url;
  let headers = { ...(opts.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    const res = await once(current, method, headers, opts);
    const loc = res.headers.location;
    const redirect = [301, 302, 303, 307, 308].includes(res.status) && loc !== undefined;
    if (!redirect || opts.redirects === false || opts.body !== undefined) return res;
    res.body.resume();
    if (hop >= 9) throw new TransportError(goMethod(method), current.href, 'stopped after 10 redirects');
    const next = new URL(loc, current);
    // Go drops credentials when a redirect leaves the host (blob storage on another domain).
    if (next.host !== current.host) {
      const { Authorization: _a, authorization: _b, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
}

function once(url: URL, method: string, headers: Record<string, string>, opts: RequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const op = goMethod(method);
    const fail = (err: unknown) => reject(err instanceof TransportError ? err : new TransportError(op, url.href, goNetError(err, url), (err as NodeJS.ErrnoException)?.code));
    if (opts.signal?.aborted) return fail(new Error('context canceled'));
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const hdrs: Record<string, string> = { 'User-Agent': USER_AGENT, ...headers };
    if (Buffer.isBuffer(opts.body)) hdrs['Content-Length'] = String(opts.body.length);
    const req = fn(url, { method, headers: hdrs, agent: agentFor(url, opts.tls), signal: opts.signal });
    let headersTimer: NodeJS.Timeout | undefined;
    if (opts.headersTimeoutMs) {
      headersTimer = setTimeout(() => {
        req.destroy(new TransportError(op, url.href, 'net/http: request canceled (Client.Timeout exceeded while awaiting headers)'));
      }, opts.headersTimeoutMs);
    }
    const idle = opts.idleTimeoutMs;
    if (idle) {
      req.setTimeout(idle, () => req.destroy(new TransportError(op, url.href, 'read: connection timed out', 'ETIMEDOUT')));
    }
    req.on('error', (err) => { clearTimeout(headersTimer); fail(err); });
    req.on('response', (res) => {
      clearTimeout(headersTimer);
      if (idle) {
        res.socket?.setTimeout(idle);
        const onTimeout = () => res.destroy(new Error('read: connection timed out'));
        res.socket?.once('timeout', onTimeout);
        res.once('close', () => { res.socket?.off('timeout', onTimeout); res.socket?.setTimeout(0); });
      }
      resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: res, url });
    });
    if (opts.body === undefined) req.end();
    else if (Buffer.isBuffer(opts.body)) req.end(opts.body);
    else {
      opts.body.on('error', (err) => req.destroy(err));
      opts.body.pipe(req);
    }
  });
}

export const USER_AGENT = 'docker/28.0.0 go/go1.23 git-commit/berth os/linux arch/amd64 berth';

/** Go's wording for the socket errors a registry connection meets. */
export function goNetError(err: unknown, url: URL): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e?.code) {
    case 'ECONNREFUSED': return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND': case 'EAI_AGAIN': case 'EAI_NONAME': return `dial tcp: lookup ${host}: no such host`;
    case 'ETIMEDOUT': return `dial tcp ${addr}: i/o timeout`;
    case 'EHOSTUNREACH': return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH': return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET': return 'read: connection reset by peer';
    case 'EPIPE': return 'write: broken pipe';
    case 'ERR_SSL_WRONG_VERSION_NUMBER': case 'EPROTO': return 'http: server gave HTTP response to HTTPS client';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED': return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return `tls: failed to verify certificate: x509: ${e.reason ?? e.message}`;
    case 'ABORT_ERR': return 'context canceled';
    default: return e?.message ?? String(err);
  }
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(body: IncomingMessage, limit: number, tooBig?: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (n > limit) {
      body.destroy();
      throw tooBig ? tooBig() : new Error(`response body exceeds ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
