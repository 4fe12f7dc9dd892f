import type Router from '@koa/router';
import { Readable } from 'node:stream';
import type { ApiContext, ApiDeps } from './api-context.js';
import { AdapterChain } from './adapters.js';

type Method = 'get' | 'head' | 'post' | 'put' | 'delete';

/** What a handler gets besides the Koa context: the version adapters of its request. */
export interface RouteApi {
  /** Lowers one value to the request's API version; streaming routes call it per message. */
  adapt<T>(value: T): unknown;
  /** Lowers response headers (e.g. a stream's Content-Type) before a stream starts. */
  headers(initial: Record<string, string>): Record<string, string>;
  /** Lifts a request body to the newest shape (call after reading it). */
  liftBody<T>(body: T): T;
  /** Whether the response body is lowered for this request's version: if not, the handler may send JSON text it serialised itself. */
  readonly lowersResponse: boolean;
}

export type RouteHandler = (ctx: ApiContext, api: RouteApi) => Promise<void> | void;

/**
 * Registers a route under an id. The id is what version adapters key on; the
 * wrapper lifts the query before the handler and lowers a plain JSON body
 * after it. Streams use `api.adapt` per message. A RegExp path (names with
 * slashes, like image names) hands its captures to the handler in
 * `ctx.captures`.
 */
export function defineRoute(router: Router, deps: ApiDeps, method: Method, path: string | RegExp, route: string, handler: RouteHandler): void {
  router[method](path, async (koaCtx) => {
    const ctx = koaCtx as unknown as ApiContext;
    ctx.state.route = route;
    const chain = AdapterChain.for(deps.host, ctx.state.version);
    const api: RouteApi = chain.empty
      ? { adapt: (v) => v, headers: (h) => h, liftBody: (b) => b, lowersResponse: false }
      : {
          lowersResponse: chain.lowers(route),
          adapt: (v) => chain.response(route, v, {}),
          headers: (h) => chain.headers(route, h),
          liftBody: (b) => { const req = { query: ctx.query, body: b as unknown }; chain.request(route, req); return req.body as typeof b; },
        };
    if (!chain.empty) chain.request(route, { query: ctx.query, body: undefined });
    await handler(ctx, api);
    if (!chain.empty && isPlainJson(ctx.body)) ctx.body = chain.response(route, ctx.body, {});
  });
}

function isPlainJson(body: unknown): boolean {
  return body !== null && typeof body === 'object' && !(body instanceof Readable) && !Buffer.isBuffer(body);
}
