import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { PluginHost, PluginRegistry, Scope, EventBus, silentLogger } from '../../../kernel/index.js';
import { RouteGroups, groupKeys } from '../../../api-compat/http/route-groups.js';
import { routeModules } from '../../../api-compat/routes/index.js';
import type { ApiDeps } from '../../../api-compat/http/api-context.js';

function deps(): ApiDeps {
  const events = new EventBus(silentLogger);
  const host = new PluginHost(new PluginRegistry([]), new Scope(), events, silentLogger);
  return { host, events, log: silentLogger, config: () => ({ experimental: false }) as never, engineId: 'x', eventListeners: { count: 0 } };
}

/**
 * Which route a request reaches: the id the route wrapper stores before its
 * handler runs (the handler may then fail on the bare test host; only the
 * choice of route matters here). `null`: no route matched.
 */
async function routeOf(mw: Middleware, method: string, path: string): Promise<string | null> {
  const ctx = { method, path, host: 'localhost', state: { version: '1.51' } as Record<string, unknown>, request: {}, query: {} } as never;
  let fellThrough = false;
  try {
    // A streaming handler (events) would wait for its client: the route id is set before that.
    await Promise.race([mw(ctx, async () => { fellThrough = true; }), new Promise((r) => setTimeout(r, 20).unref())]);
  } catch { /* the handler ran on a bare host */ }
  const route = (ctx as { state: { route?: string } }).state.route;
  return route ?? (fellThrough ? null : 'handled-without-route-id');
}

/** Request paths that exercise every route (parameters filled in), their case and slash variants, and misses. */
function samplePaths(registered: Array<string | RegExp>): string[] {
  const out = new Set<string>([
    '/', '/nope', '//containers/json', '/_ping', '/_PING', '/info/', '/swarm', '/swarm/init', '/nodes', '/nodes/x', '/services/a/b', '/swarmy',
    '/images/busybox/json', '/images/library/busybox:latest/json', '/images/a/b/c/push', '/images/x/tag', '/images/x/history', '/images/x/get',
    '/images/sha256:abc', '/images/json', '/images/create', '/images/load', '/images/prune', '/images/search', '/IMAGES/json', '/images',
    '/distribution/library/busybox/json', '/distribution/x', '/containers/abc/json', '/Containers/json', '/containers/abc/logs',
    '/exec/abc/json', '/exec/abc/start', '/exec/abc/resize', '/networks', '/networks/x', '/volumes/x', '/system/df', '/events', '/version', '/auth',
  ]);
  for (const p of registered) {
    if (typeof p !== 'string') continue;
    const filled = p.replace(/:[A-Za-z_]+/g, 'abc123');
    out.add(filled);
    out.add(filled + '/');
    out.add(filled.toUpperCase());
    out.add(filled + '/extra');
  }
  return [...out];
}

describe('route groups', () => {
  it('reads the group of string and RegExp paths', () => {
    assert.deepEqual(groupKeys('/containers/:id/json'), ['containers']);
    assert.deepEqual(groupKeys('/_ping'), ['_ping']);
    assert.deepEqual(groupKeys('/Info'), ['info']);
    assert.deepEqual(groupKeys('/:anything'), ['*']);
    assert.deepEqual(groupKeys(/^\/images\/(.+)\/json$/), ['images']);
    assert.deepEqual(groupKeys(/^\/images$/), ['images']);
    assert.deepEqual(groupKeys(/^\/(swarm|nodes|services)(\/|$)/), ['swarm', 'nodes', 'services']);
    assert.deepEqual(groupKeys(/^\/(?:a|b)/), ['*']);
    assert.deepEqual(groupKeys(/foo/), ['*']);
  });

  it('sends every request to the route one Router over all routes would choose', async () => {
    const d = deps();
    const reference = new Router();
    const registered: Array<string | RegExp> = [];
    const recorder = new Proxy(reference, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop === 'string' && ['get', 'head', 'post', 'put', 'delete', 'all'].includes(prop)) {
          return (path: string | RegExp, ...mw: unknown[]) => { registered.push(path); return (v as (...a: unknown[]) => unknown).call(target, path, ...mw); };
        }
        return v;
      },
    });
    for (const mod of routeModules) mod(recorder as Router, d);
    // A route whose first segment is a parameter reaches every group, in its registration order.
    reference.get('/:first/catch-all', (ctx) => { (ctx.state as Record<string, unknown>).route = 'test.catch-all'; });

    const groups = new RouteGroups();
    for (const mod of routeModules) mod(groups.registrar, d);
    groups.registrar.get('/:first/catch-all', (ctx) => { (ctx.state as Record<string, unknown>).route = 'test.catch-all'; });

    const paths = [...samplePaths(registered), '/containers/catch-all', '/nope/catch-all', '/_ping/catch-all'];
    assert.ok(registered.length > 50, `route modules registered ${registered.length} routes`);
    let matched = 0;
    for (const path of paths) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']) {
        const want = await routeOf(reference.routes() as Middleware, method, path);
        const got = await routeOf(groups.middleware(), method, path);
        assert.equal(got, want, `${method} ${path}`);
        if (want) matched++;
      }
    }
    assert.ok(matched > 100, `only ${matched} requests matched a route: the sample paths do not exercise the routes`);
  });

  it('refuses Router methods other than route registration', () => {
    const groups = new RouteGroups();
    assert.throws(() => (groups.registrar as unknown as { use: unknown }).use, /may only register routes/);
  });
});
