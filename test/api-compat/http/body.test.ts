import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { PluginHost, PluginRegistry, Scope, EventBus, silentLogger } from '../../../kernel/index.js';
import { createKoaApp } from '../../../api-compat/http/koa-app.js';
import { readJson } from '../../../api-compat/http/body.js';
import { defineRoute } from '../../../api-compat/http/route.js';
import type { ApiDeps } from '../../../api-compat/http/api-context.js';

function app() {
  const events = new EventBus(silentLogger);
  const host = new PluginHost(new PluginRegistry([]), new Scope(), events, silentLogger);
  const deps: ApiDeps = { host, events, log: silentLogger, config: () => ({ experimental: false }) as never, engineId: 'x', eventListeners: { count: 0 } };
  return createKoaApp(deps, [(router) => defineRoute(router, deps, 'post', '/echo', 'test.echo', async (ctx) => {
    ctx.body = { got: (await readJson(ctx)) ?? null };
  })], { minVersion: () => '1.24' }).callback();
}

describe('JSON request bodies', () => {
  it('parses JSON and accepts an empty body', async () => {
    const ok = await request(app()).post('/v1.41/echo').set('Content-Type', 'application/json').send('{"a":1}');
    assert.deepEqual(ok.body, { got: { a: 1 } });
    const empty = await request(app()).post('/echo');
    assert.deepEqual(empty.body, { got: null });
  });

  it('answers malformed JSON with 400 invalid JSON', async () => {
    const res = await request(app()).post('/echo').set('Content-Type', 'application/json').send('{"a":');
    assert.equal(res.status, 400);
    assert.match(res.body.message, /^invalid JSON: /);
  });

  it('answers a JSON body with another Content-Type with 400', async () => {
    const res = await request(app()).post('/echo').set('Content-Type', 'text/plain').send('{"a":1}');
    assert.equal(res.status, 400);
    assert.equal(res.body.message, "unsupported Content-Type header (text/plain): must be 'application/json'");
  });
});
