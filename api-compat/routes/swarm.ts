import type Router from '@koa/router';
import { UnavailableError } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { defineRoute } from '../http/route.js';

const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/**
 * Berth is never part of a swarm: every swarm endpoint answers 503 with
 * dockerd's message for a node outside a swarm, which is what clients expect.
 */
export function swarmRoutes(router: Router, deps: ApiDeps): void {
  const refuse = () => { throw new UnavailableError(NOT_A_MANAGER); };
  for (const base of ['/swarm', '/nodes', '/services', '/tasks', '/secrets', '/configs']) {
    for (const method of ['get', 'post', 'delete'] as const) {
      defineRoute(router, deps, method, base, 'swarm', refuse);
      defineRoute(router, deps, method, `${base}/{*rest}`, 'swarm', refuse);
    }
  }
}
