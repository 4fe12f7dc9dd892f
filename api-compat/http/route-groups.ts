import Router from '@koa/router';
import type { Middleware } from 'koa';

type Registration = (router: Router) => void;
const METHODS = new Set(['get', 'head', 'post', 'put', 'delete', 'patch', 'all']);

/**
 * The Engine API's routes, split by the first segment of their path
 * (`containers`, `images`, `_ping` …), each group turned into a @koa/router
 * Router on its first request.
 *
 * One Router for every route costs each daemon start path-to-regexp parsing
 * and RegExp compilation for ~150 patterns, and makes every request try them
 * all. A route can only match a path whose first segment is its own, so a
 * request needs the routes of that segment's group alone, in registration
 * order; routes whose first segment is not a literal (a parameter, a RegExp
 * without a literal prefix) go to every group, which keeps matching exactly
 * as one Router would. @koa/router matches case-insensitively by default, so
 * groups are keyed in lower case.
 */
export class RouteGroups {
  /** Registrations in order, each with its group key (`*`: every group). */
  private readonly registrations: Array<{ key: string; apply: Registration }> = [];
  private readonly keys = new Set<string>();
  private readonly routers = new Map<string, { router: Router; middleware: Middleware }>();

  /**
   * What route modules register on: the Router methods that add routes, and
   * nothing else (anything else throws, so a route module that needs more
   * of the Router fails at start rather than being silently mis-grouped).
   */
  readonly registrar: Router = new Proxy({} as Router, {
    get: (_target, prop) => {
      if (typeof prop === 'symbol') return undefined;
      if (!METHODS.has(prop)) {
        throw new Error(`route modules may only register routes (Router.${String(prop)} is not available here)`);
      }
      return (path: string | RegExp, ...middleware: unknown[]) => {
        for (const key of groupKeys(path)) {
          this.keys.add(key);
          this.registrations.push({ key, apply: (r) => (r as unknown as Record<string, (...a: unknown[]) => unknown>)[prop]!(path, ...middleware) });
        }
        return this.registrar;
      };
    },
  });

  /**
   * Builds the group of `path` and compiles its patterns now (V8 compiles a
   * RegExp on its first use): the daemon's first `/_ping` should not wait.
   */
  prepare(path: string): void {
    this.groupFor(path).router.match(path, 'GET');
  }

  /** Koa middleware dispatching to the group of the request's path. */
  middleware(): Middleware {
    return (ctx, next) => this.groupFor(ctx.path).middleware(ctx, next);
  }

  private groupFor(path: string): { router: Router; middleware: Middleware } {
    const first = firstSegment(path);
    const key = this.keys.has(first) ? first : '*';
    let group = this.routers.get(key);
    if (!group) {
      const router = new Router();
      for (const r of this.registrations) if (r.key === key || r.key === '*') r.apply(router);
      group = { router, middleware: router.routes() as Middleware };
      this.routers.set(key, group);
    }
    return group;
  }
}

/** The lower-cased first segment of a request path (`/containers/x/json` → `containers`). */
function firstSegment(path: string): string {
  const end = path.indexOf('/', 1);
  return (end < 0 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}

/**
 * The groups a route belongs to: the literal first segment of a string path;
 * for a RegExp, a literal first segment or an alternation of literals right
 * after `^\/` (`^\/(swarm|nodes)(\/|$)`); `*` when neither can be read.
 */
export function groupKeys(path: string | RegExp): string[] {
  if (typeof path === 'string') {
    const m = /^\/([A-Za-z0-9_.-]+)(?:\/|$)/.exec(path);
    return [m ? m[1]!.toLowerCase() : '*'];
  }
  const src = path.source;
  const literal = /^\^\\\/([A-Za-z0-9_-]+)(?:\\\/|\$|\(\?:\\\/|\(\\\/)/.exec(src);
  if (literal) return [literal[1]!.toLowerCase()];
  const alternation = /^\^\\\/\(((?:[A-Za-z0-9_-]+\|)*[A-Za-z0-9_-]+)\)(?:\\\/|\$|\(\\\/\|\$\)|\(\?:\\\/\|\$\))/.exec(src);
  if (alternation) return alternation[1]!.split('|').map((k) => k.toLowerCase());
  return ['*'];
}
