import type { Readable } from 'node:stream';
import { Authorizer, type Credentials, type TokenCache } from './registry-auth.js';
import type { Endpoint } from './endpoints.js';
import { goMethod, readBody, request, TransportError, type HttpResponse } from './http-transport.js';
import { handleErrorResponse } from './registry-errors.js';

/** Go's http.Client timeout for the ping (registry.PingV2Registry). */
const PING_TIMEOUT_MS = 15_000;

/** The ping failed before the registry answered in HTTP: the next endpoint may do better. */
export class PingError extends Error {
  constructor(override readonly cause: Error, readonly transportOk: boolean) {
    super(cause.message);
  }
}

/**
 * An error from inside a request that is not the registry's answer (the
 * token fetch failed): Go wraps it in a *url.Error naming the request.
 */
export class RequestError extends Error {
  constructor(readonly op: string, readonly url: string, override readonly cause: Error) {
    super(`${op} "${url}": ${cause.message}`);
  }
}

export interface SessionOptions {
  cache: TokenCache;
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Ask the token server for an offline refresh token (docker login). */
  offline?: boolean;
}

/**
 * One repository on one endpoint (distribution's client.NewRepository with
 * the authorizing transport): pinged once, then every request carries the
 * Authorization the registry's challenge asks for.
 */
export class RepoClient {
  private constructor(
    readonly endpoint: Endpoint,
    /** Remote path, e.g. `library/busybox`. */
    readonly path: string,
    readonly auth: Authorizer,
    private readonly opts: SessionOptions,
  ) {}

  static async open(endpoint: Endpoint, path: string, creds: Credentials, scopes: string[], opts: SessionOptions): Promise<RepoClient> {
    const ping = new URL('/v2/', endpoint.url);
    let res: HttpResponse;
    try {
      res = await request(ping, { tls: endpoint.tls, signal: opts.signal, headersTimeoutMs: PING_TIMEOUT_MS, idleTimeoutMs: opts.idleTimeoutMs });
    } catch (err) {
      throw new PingError(err as Error, false);
    }
    res.body.resume();
    const auth = Authorizer.fromPing(res.status === 401 ? res.headers['www-authenticate'] : undefined, creds, scopes, opts.cache, endpoint.tls, opts.offline);
    const client = new RepoClient(endpoint, path, auth, opts);
    client.pingStatus = res.status;
    return client;
  }

  pingStatus = 0;

  url(suffix: string): URL {
    return new URL(`/v2/${this.path}/${suffix}`, this.endpoint.url);
  }

  /**
   * Sends an authorised request. A 401 answered to a cached token is retried
   * once with a fresh one (token refresh). Transport failures become
   * TransportError, failures of the token fetch RequestError.
   */
  async send(method: string, url: URL, opts: { headers?: Record<string, string>; body?: Buffer | Readable; redirects?: boolean } = {}): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let authz: string | undefined;
      try {
        authz = await this.auth.header(this.opts.signal);
      } catch (err) {
        if (err instanceof TransportError) throw new RequestError(goMethod(method), url.href, new Error(`${err.cause}`));
        throw new RequestError(goMethod(method), url.href, err as Error);
      }
      const headers = { ...(opts.headers ?? {}) };
      if (authz) headers.Authorization = authz;
      const res = await request(url, {
        method, headers, body: opts.body, tls: this.endpoint.tls, signal: this.opts.signal, idleTimeoutMs: this.opts.idleTimeoutMs, redirects: opts.redirects,
      });
      const replayable = opts.body === undefined || Buffer.isBuffer(opts.body);
      if (res.status === 401 && attempt === 0 && replayable && this.auth.bearer && authz) {
        res.body.resume();
        this.auth.invalidate();
        continue;
      }
      return res;
    }
  }

  /** Reads a non-2xx answer into the registry's error. */
  static async errorOf(res: HttpResponse): Promise<Error> {
    const body = await readBody(res.body, 1 << 20).catch(() => Buffer.alloc(0));
    return handleErrorResponse(res.status, res.statusText, res.headers, body);
  }
}
