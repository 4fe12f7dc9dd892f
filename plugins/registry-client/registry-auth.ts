import type { RegistryAuth } from '../../kernel/index.js';
import { parseChallenges, type Challenge } from './auth-challenge.js';
import { readBody, request } from './http-transport.js';
import { handleErrorResponse } from './registry-errors.js';
import type { HostTls } from './tls-trust.js';

/** docker/distribution's auth.ErrNoToken. */
const NO_TOKEN = 'authorization server did not include a token in the response';
/** auth.minimumTokenLifetimeSeconds. */
const MIN_TOKEN_LIFETIME_S = 60;

export interface Credentials {
  username: string;
  password: string;
  identityToken: string;
  registryToken: string;
}

/** The credentials of an AuthConfig (`auth` is base64 "user:password" when the fields are empty). */
export function credentialsOf(a: RegistryAuth): Credentials {
  let username = a.username ?? '';
  let password = a.password ?? '';
  if (!username && !password && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) { username = plain.slice(0, i); password = plain.slice(i + 1); }
  }
  return { username, password, identityToken: a.identitytoken ?? '', registryToken: a.registrytoken ?? '' };
}

interface CachedToken {
  token: string;
  expires: number;
}

/**
 * Bearer tokens, shared by every operation of the plugin instance: a token
 * is reused for the same realm, service, scopes and credentials until it
 * expires (auth.tokenHandler keeps one per repository session; Berth keeps
 * them across pulls so a burst of `docker run`s asks the token server once).
 */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (!t) return undefined;
    if (Date.now() >= t.expires) { this.tokens.delete(key); return undefined; }
    return t.token;
  }

  set(key: string, token: string, lifetimeS: number): void {
    if (this.tokens.size > 1000) this.tokens.clear();
    this.tokens.set(key, { token, expires: Date.now() + lifetimeS * 1000 - 5000 });
  }

  drop(key: string): void {
    this.tokens.delete(key);
  }
}

/**
 * auth.NewAuthorizer with the token and basic handlers: picks the
 * Authorization header for a request from the challenges the ping
 * collected. A `registrytoken` is sent as is (passThruTokenHandler).
 */
export class Authorizer {
  /** A refresh token the token server handed out (login with offline access). */
  refreshToken = '';
  private lastKey: string | undefined;

  constructor(
    private readonly challenges: Challenge[],
    private readonly creds: Credentials,
    private readonly scopes: string[],
    private readonly cache: TokenCache,
    private readonly tls: HostTls | undefined,
    private readonly offline = false,
  ) {}

  static fromPing(header: string | string[] | undefined, creds: Credentials, scopes: string[], cache: TokenCache, tls: HostTls | undefined, offline = false): Authorizer {
    return new Authorizer(parseChallenges(header), creds, scopes, cache, tls, offline);
  }

  get bearer(): Challenge | undefined {
    return this.challenges.find((c) => c.scheme === 'bearer');
  }

  /** The Authorization header value, or undefined when the registry asked for none (or no creds for basic). */
  async header(signal?: AbortSignal): Promise<string | undefined> {
    const bearer = this.bearer;
    if (bearer) {
      if (this.creds.registryToken) return `Bearer ${this.creds.registryToken}`;
      return `Bearer ${await this.token(bearer, signal)}`;
    }
    if (this.challenges.some((c) => c.scheme === 'basic')) {
      // auth.ErrNoBasicAuthCredentials: the request is not sent without them.
      if (!this.creds.username && !this.creds.password) throw new Error('no basic auth credentials');
      return 'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
    }
    return undefined;
  }

  /** Forgets the cached token of this authorizer (a 401 with a cached token: it was revoked or expired early). */
  invalidate(): void {
    if (this.lastKey) this.cache.drop(this.lastKey);
  }

  private async token(c: Challenge, signal?: AbortSignal): Promise<string> {
    const realm = c.params.realm ?? '';
    const service = c.params.service ?? '';
    const key = JSON.stringify([realm, service, this.scopes, this.creds.username, this.creds.password, this.creds.identityToken, this.offline]);
    this.lastKey = key;
    const cached = this.offline ? undefined : this.cache.get(key);
    if (cached) return cached;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new Error(`invalid token auth challenge realm: ${JSON.stringify(realm)}`);
    }
    const refresh = this.creds.identityToken;
    let res;
    if (refresh) {
      // fetchTokenWithOAuth: the identity token from `docker login` is a refresh token.
      const form = new URLSearchParams();
      form.set('scope', this.scopes.join(' '));
      if (this.scopes.length === 0) form.delete('scope');
      form.set('service', service);
      form.set('client_id', 'docker');
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refresh);
      if (this.offline) form.set('access_type', 'offline');
      res = await request(realmUrl, {
        method: 'POST', body: Buffer.from(form.toString()), tls: this.tls, signal, headersTimeoutMs: 60_000,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
      });
    } else {
      const u = new URL(realmUrl);
      if (service) u.searchParams.set('service', service);
      for (const s of this.scopes) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (this.offline) { u.searchParams.set('offline_token', 'true'); u.searchParams.set('client_id', 'docker'); }
      if (this.creds.username || this.creds.password) {
        headers.Authorization = 'Basic ' + Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
      }
      res = await request(u, { tls: this.tls, signal, headers, headersTimeoutMs: 60_000 });
    }
    const body = await readBody(res.body, 1 << 20);
    if (res.status < 200 || res.status >= 300) throw handleErrorResponse(res.status, res.statusText, res.headers, body);
    let doc: { token?: string; access_token?: string; expires_in?: number; refresh_token?: string };
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new Error(`unable to decode token response: ${(err as Error).message}`);
    }
    const token = doc.access_token || doc.token;
    if (!token) throw new Error(NO_TOKEN);
    if (doc.refresh_token) this.refreshToken = doc.refresh_token;
    this.cache.set(key, token, Math.max(MIN_TOKEN_LIFETIME_S, Number(doc.expires_in) || 0));
    return token;
  }
}
