import Koa from 'koa';
import type Router from '@koa/router';
import { Readable } from 'node:stream';
import { NotFoundError } from '../../kernel/index.js';
import type { ApiDeps, ApiState } from './api-context.js';
import { errorResponse } from './error-mapping.js';
import { RouteGroups } from './route-groups.js';
import { checkVersion, commonHeaders, splitVersion, VersionError } from './version.js';
import { MAX_API_VERSION } from '../engine-version.js';

export type RouteModule = (router: Router, deps: ApiDeps) => void;

export interface AppOptions {
  minVersion(): string;
}

/**
 * The Koa application. Middleware order, outermost first:
 *   1. headers + errors: dockerd's headers on every response; any thrown
 *      error becomes `{"message":…}` with the status from error-mapping.ts;
 *      plain JSON bodies are serialised as dockerd does (exact
 *      `Content-Type: application/json`, trailing newline).
 *   2. version: strips `/vX.Y`, refuses versions out of range.
 *   3. routes, written once against the newest API.
 * Unknown paths and methods are 404 "page not found", as in dockerd.
 */
export function createKoaApp(deps: ApiDeps, modules: readonly RouteModule[], opts: AppOptions): Koa<ApiState> {
  const app = new Koa<ApiState>();
  app.proxy = false;
  app.silent = true;
  // Routes are recorded now and compiled per path segment on first use (route-groups.ts).
  const routes = new RouteGroups();
  for (const mod of modules) mod(routes.registrar, deps);
  // The group a client's first request needs is built now, while activation
  // overlaps the graph driver's probe, rather than on the daemon's first /_ping.
  routes.prepare('/_ping');

  app.use(async (ctx, next) => {
    ctx.set(commonHeaders(deps.config().experimental === true));
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) throw new NotFoundError('page not found');
      if (ctx.body !== null && typeof ctx.body === 'object' && !(ctx.body instanceof Readable) && !Buffer.isBuffer(ctx.body)) {
        const status = ctx.status;
        ctx.body = JSON.stringify(ctx.body) + '\n';
        ctx.status = status;
        ctx.set('Content-Type', 'application/json');
      }
    } catch (err) {
      if (err instanceof VersionError && err.plainText) {
        ctx.status = 400;
        ctx.body = err.message + '\n';
        ctx.set('Content-Type', 'text/plain; charset=utf-8');
        return;
      }
      const res = errorResponse(err);
      if (res.status >= 500) deps.log.error('handler error', { method: ctx.method, path: ctx.path, error: err });
      else deps.log.debug('request refused', { method: ctx.method, path: ctx.path, status: res.status, error: err });
      ctx.status = res.status;
      if (res.body !== undefined) {
        ctx.body = res.body;
        ctx.set('Content-Type', 'application/json');
      } else {
        ctx.body = null;
      }
    }
  });

  app.use(async (ctx, next) => {
    const { version = MAX_API_VERSION, path } = splitVersion(ctx.path);
    checkVersion(version, opts.minVersion());
    ctx.state.version = version;
    if (path !== ctx.path) ctx.path = path;
    if (ctx.method === 'OPTIONS') { ctx.status = 200; ctx.body = ''; return; }
    await next();
  });

  app.use(routes.middleware());
  return app;
}
