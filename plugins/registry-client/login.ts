import { InvalidParameterError, SystemError, UnauthorizedError, type RegistryAuth } from '../../kernel/index.js';
import { INDEX_NAME, type RegistryService } from './endpoints.js';
import { credentialsOf, type TokenCache } from './registry-auth.js';
import { RegistryErrcode } from './registry-errors.js';
import { PingError, RepoClient, RequestError } from './repo-client.js';

/**
 * registry.Service.Auth (`POST /auth`): for each endpoint of the server
 * (no mirrors: credentials never go to a mirror), ping, then `GET /v2/`
 * with the credentials — through the token server with offline access
 * when the registry asks for Bearer, so a refresh token comes back as the
 * identity token. Bad credentials end the attempt (no fallback to HTTP).
 */
export async function login(service: RegistryService, cache: TokenCache, idleTimeoutMs: number, auth: RegistryAuth): Promise<{ Status: string; IdentityToken: string }> {
  let host = INDEX_NAME;
  if (auth.serveraddress) {
    const addr = /^https?:\/\//.test(auth.serveraddress) ? auth.serveraddress : `https://${auth.serveraddress}`;
    try {
      host = new URL(addr).host;
    } catch (err) {
      throw new InvalidParameterError(`unable to parse server address: ${(err as Error).message}`);
    }
  }
  const endpoints = await service.endpoints(host, false);
  let lastErr: Error | undefined;
  for (const ep of endpoints) {
    const v2 = new URL('/v2/', ep.url).href.replace(/\/+$/, '/');
    try {
      const client = await RepoClient.open(ep, '', credentialsOf(auth), [], { cache, idleTimeoutMs, offline: true });
      const res = await client.send('GET', new URL('/v2/', ep.url));
      res.body.resume();
      if (res.status !== 200) {
        lastErr = new SystemError(`login attempt to ${v2} failed with status: ${res.status} ${res.statusText}`);
        continue;
      }
      return { Status: 'Login Succeeded', IdentityToken: client.auth.refreshToken };
    } catch (err) {
      if (err instanceof RequestError && err.cause instanceof RegistryErrcode && err.cause.code === 'UNAUTHORIZED') {
        throw new UnauthorizedError(err.message);
      }
      lastErr = err instanceof PingError ? err.cause : err as Error;
    }
  }
  throw lastErr instanceof SystemError || lastErr instanceof UnauthorizedError ? lastErr : new InvalidParameterError(lastErr?.message ?? `no endpoints found for ${host}`);
}
