import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdapterChain } from '../../../api-compat/http/adapters.js';
import { v1_42 } from '../../../api-compat/versions/v1_42.js';
import { v1_43 } from '../../../api-compat/versions/v1_43.js';
import { v1_44 } from '../../../api-compat/versions/v1_44.js';
import { v1_45 } from '../../../api-compat/versions/v1_45.js';
import { v1_46 } from '../../../api-compat/versions/v1_46.js';
import { v1_50 } from '../../../api-compat/versions/v1_50.js';
import { v1_51 } from '../../../api-compat/versions/v1_51.js';
import { v1_52 } from '../../../api-compat/versions/v1_52.js';
import type { ApiAdapter, PluginHost } from '../../../kernel/index.js';

const ADAPTERS: ApiAdapter[] = [v1_42, v1_43, v1_44, v1_45, v1_46, v1_50, v1_51, v1_52];
const hostWith = (adapters: ApiAdapter[]) => ({ all: () => new Map(adapters.map((a) => [a.version, a])) }) as unknown as PluginHost;

// Bodies shaped like every route the adapters know, so an adapter that forgot to list a route it changes is caught.
const PROBES: Array<() => unknown> = [
  () => [{ RepoTags: [], RepoDigests: [], Size: 1, Containers: 2 }],
  () => ({ Images: [{ RepoTags: [], RepoDigests: [], Size: 1 }] }),
  () => ({ Id: 'x', Comment: '', Created: '2026-01-01T00:00:00Z', Size: 1, Config: { Env: [] } }),
  () => ({ Type: 'container', Action: 'start', Actor: { ID: 'x', Attributes: { image: 'busybox' } } }),
  () => ({ Type: 'image', Action: 'create', Actor: { ID: 'x', Attributes: {} } }),
  () => [{ Id: 'x', Names: ['/a'], State: 'running' }],
];
const ROUTES = ['image.list', 'image.inspect', 'system.df', 'system.events', 'containers.list', 'containers.inspect', 'containers.logs'];

describe('version adapters declare the routes they lower', () => {
  for (const a of ADAPTERS.filter((x) => x.response)) {
    it(`${a.version} leaves the response of every undeclared route as it was`, () => {
      assert.ok(a.responseRoutes, `${a.version} has a response adapter, so it names its routes`);
      for (const route of ROUTES.filter((r) => !a.responseRoutes!.includes(r))) {
        for (const probe of PROBES) {
          const body = probe();
          const out = a.response!(route, body, { headers: {} });
          assert.equal(out, body, `${a.version} on ${route}`);
          assert.deepEqual(body, probe(), `${a.version} mutated ${route}`);
        }
      }
    });
  }

  it('a chain lowers a route only when one of its adapters names it, or names none', () => {
    const chain = AdapterChain.for(hostWith(ADAPTERS), '1.24');
    assert.equal(chain.lowers('containers.list'), false);
    assert.equal(chain.lowers('image.list'), true);
    assert.equal(chain.lowers('system.events'), true);
    assert.equal(AdapterChain.for(hostWith(ADAPTERS), '1.51').lowers('image.list'), false);
    assert.equal(AdapterChain.for(hostWith(ADAPTERS), '1.51').lowers('system.events'), true);
    const undeclared: ApiAdapter = { version: '1.99', summary: 'test', response: (_route, body) => body };
    assert.equal(AdapterChain.for(hostWith([undeclared]), '1.51').lowers('containers.list'), true);
  });
});
