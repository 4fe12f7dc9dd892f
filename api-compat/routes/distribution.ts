import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, NotImplementedError, type Distribution, type PluginHost } from '../../kernel/index.js';
import type { ApiContext, ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { LazyProgress } from '../http/lazy-progress.js';
import { queryString } from '../http/query.js';
import { pickAuth, registryAuthHeader } from '../http/registry-auth.js';
import { defineRoute } from '../http/route.js';

/**
 * The registry endpoints besides pull: `POST /auth` (docker login),
 * `GET /distribution/{name}/json`, and `POST /images/{name}/push` (routed
 * from images.ts so its RegExp sits with the other image routes).
 */
export function distributionRoutes(router: Router, deps: ApiDeps): void {
  defineRoute(router, deps, 'post', '/auth', 'system.auth', async (ctx) => {
    const body = await readJson(ctx);
    const auth = body && typeof body === 'object' && !Array.isArray(body) ? pickAuth(body as Record<string, unknown>) : {};
    const res = await client(deps.host).login(auth);
    ctx.body = { IdentityToken: res.IdentityToken, Status: res.Status };
  });

  defineRoute(router, deps, 'get', /^\/distribution\/(.+)\/json$/, 'distribution.inspect', async (ctx) => {
    const name = captured(ctx);
    if (!name) throw new InvalidParameterError('image name cannot be blank');
    ctx.body = await client(deps.host).inspect(name, registryAuthHeader(ctx));
  });
}

function client(host: PluginHost): Distribution {
  const d = host.tryCurrent<Distribution>(ExtensionPoint.Distribution);
  if (!d) throw new NotImplementedError('no registry client is active');
  return d;
}

/** `POST /images/{name}/push?tag=`. */
export async function imagePush(ctx: ApiContext, host: PluginHost, name: string): Promise<void> {
  const dist = client(host);
  let auth = registryAuthHeader(ctx);
  if (!ctx.get('X-Registry-Auth')) {
    // Legacy clients send the AuthConfig as the body.
    const body = await readJson(ctx).catch(() => undefined);
    if (body && typeof body === 'object' && !Array.isArray(body)) auth = pickAuth(body as Record<string, unknown>);
  } else {
    ctx.req.resume();
  }
  const tag = queryString(ctx.query.tag) || undefined;
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new InvalidParameterError('invalid tag format');
  const progress = new LazyProgress(ctx);
  await progress.run(() => dist.push(name, { auth, tag, out: progress.event, signal: progress.signal }));
}

function captured(ctx: ApiContext): string {
  const raw = (ctx as unknown as { captures?: string[] }).captures?.[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
