import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { nodeSha } from './image-archives.js';

/**
 * In-process servers the registry tests put in front of `docker-registry`:
 * a Bearer token server (the registry behind it only answers with a valid
 * token of the right scope, as Docker Hub does), a proxy that corrupts
 * layer blobs, and a small uploader that builds images and indexes
 * directly through the Registry API.
 */
export interface TestServer {
  port: number;
  host: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
}

/** Forwards a request to the upstream registry, rewriting Location headers to `selfHost`. */
function forward(req: IncomingMessage, res: ServerResponse, upstreamPort: number, selfHost: string, mangle?: (body: Buffer, req: IncomingMessage) => Buffer): void {
  const headers = { ...req.headers, host: `127.0.0.1:${upstreamPort}` };
  delete headers.authorization;
  const up = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers }, (ur) => {
    const h = { ...ur.headers };
    if (typeof h.location === 'string') h.location = h.location.replace(`127.0.0.1:${upstreamPort}`, selfHost);
    if (!mangle) {
      res.writeHead(ur.statusCode ?? 502, h);
      ur.pipe(res);
      return;
    }
    const chunks: Buffer[] = [];
    ur.on('data', (c) => chunks.push(c));
    ur.on('end', () => {
      const body = mangle(Buffer.concat(chunks), req);
      res.writeHead(ur.statusCode ?? 502, h);
      res.end(body);
    });
  });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(up);
}

export interface TokenServer extends TestServer {
  /** Token requests served (GET and POST), to check reuse. */
  tokenRequests: number;
  /** Revokes every access token issued so far (the next request gets 401 and must refresh). */
  revokeAll(): void;
}

/**
 * The registry behind Bearer auth. Users from `users` get pull and push on
 * every repository; anonymous clients may pull repositories under
 * `public/`. Wrong credentials at the token endpoint get Docker Hub's
 * answer. `offline_token=true` also returns a refresh token, which the
 * POST form (grant_type=refresh_token) accepts.
 */
export async function startTokenServer(upstreamPort: number, users: Record<string, string>): Promise<TokenServer> {
  const tokens = new Map<string, { user: string; scopes: Set<string> }>();
  const refresh = new Map<string, string>();
  let self = '';
  const grant = (user: string, scopes: string[]) => {
    const granted = new Set<string>();
    for (const s of scopes) {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      if (!m) continue;
      for (const action of m[2]!.split(',')) {
        if (user || (m[1]!.startsWith('public/') && action === 'pull')) granted.add(`${m[1]}:${action}`);
      }
    }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { user, scopes: granted });
    return token;
  };
  const unauthorized = (res: ServerResponse, scope: string | undefined, insufficient: boolean) => {
    const params = [`realm="http://${self}/token"`, 'service="berth-test"'];
    if (scope) params.push(`scope="${scope}"`);
    if (insufficient) params.push('error="insufficient_scope"');
    res.writeHead(401, { 'WWW-Authenticate': `Bearer ${params.join(',')}`, 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
  };
  const server: TokenServer = { port: 0, host: '', tokenRequests: 0, revokeAll: () => tokens.clear(), close: async () => {} };
  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${self}`);
    if (url.pathname === '/token') {
      server.tokenRequests++;
      const finish = (user: string, scopes: string[], offline: boolean) => {
        const token = grant(user, scopes);
        const body: Record<string, unknown> = { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() };
        if (offline && user) {
          const r = randomBytes(16).toString('hex');
          refresh.set(r, user);
          body.refresh_token = r;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const deny = () => {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password', detail: null }] }));
      };
      if (req.method === 'POST') {
        let raw = '';
        req.on('data', (d) => { raw += d; });
        req.on('end', () => {
          const form = new URLSearchParams(raw);
          const user = refresh.get(form.get('refresh_token') ?? '');
          if (form.get('grant_type') !== 'refresh_token' || !user) return deny();
          finish(user, (form.get('scope') ?? '').split(' ').filter(Boolean), false);
        });
        return;
      }
      let user = '';
      const authz = req.headers.authorization;
      if (authz?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
        if (users[u ?? ''] !== p) return deny();
        user = u!;
      }
      finish(user, url.searchParams.getAll('scope'), url.searchParams.get('offline_token') === 'true');
      return;
    }
    if (!url.pathname.startsWith('/v2/')) { res.writeHead(404); res.end(); return; }
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? tokens.get(req.headers.authorization.slice(7)) : undefined;
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    if (!m) {
      if (!bearer) return unauthorized(res, undefined, false);
      return forward(req, res, upstreamPort, self);
    }
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const scope = `repository:${m[1]}:${action === 'push' ? 'pull,push' : 'pull'}`;
    if (!bearer) return unauthorized(res, scope, false);
    if (!bearer.scopes.has(`${m[1]}:${action}`)) return unauthorized(res, scope, true);
    forward(req, res, upstreamPort, self);
  });
  const port = await listen(http);
  self = `127.0.0.1:${port}`;
  server.port = port;
  server.host = self;
  server.close = closer(http);
  return server;
}

/** A pass-through proxy that flips a byte in every layer blob (bodies over 4 KiB) it serves. */
export async function startCorruptingProxy(upstreamPort: number): Promise<TestServer> {
  let self = '';
  const http = createServer((req, res) => {
    const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
    forward(req, res, upstreamPort, self, isBlob ? (body) => {
      if (body.length <= 4096) return body;
      const copy = Buffer.from(body);
      copy[copy.length - 100] = copy[copy.length - 100]! ^ 0xff;
      return copy;
    } : undefined);
  });
  const port = await listen(http);
  self = `127.0.0.1:${port}`;
  return { port, host: self, close: closer(http) };
}

/** Uploads a blob monolithically (POST, then PUT with the digest). */
export async function uploadBlob(registry: string, repo: string, data: Buffer): Promise<string> {
  const digest = nodeSha(data);
  const start = await fetch(`http://${registry}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, `http://${registry}`);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: "PUT", body: new Uint8Array(data), headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
  return digest;
}

export async function putManifest(registry: string, repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${reference}`, { method: "PUT", body: new Uint8Array(body), headers: { "Content-Type": mediaType } });
  if (res.status !== 201) throw new Error(`manifest put: ${res.status} ${await res.text()}`);
  return nodeSha(body);
}

/** Uploads an image (uncompressed layer tars, gzip'd here) and returns its manifest bytes, digest and config ID. */
export async function uploadImage(registry: string, repo: string, layers: Buffer[], config: string, opts: { tag?: string; oci?: boolean } = {}): Promise<{ manifest: Buffer; digest: string; configId: string }> {
  const descs = [];
  for (const l of layers) {
    const gz = gzipSync(l);
    descs.push({ mediaType: opts.oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: await uploadBlob(registry, repo, gz) });
  }
  const cfg = Buffer.from(config);
  const configId = await uploadBlob(registry, repo, cfg);
  const mediaType = opts.oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: opts.oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: cfg.length, digest: configId },
    layers: descs,
  }));
  const digest = await putManifest(registry, repo, opts.tag ?? nodeSha(manifest), mediaType, manifest);
  return { manifest, digest, configId };
}
