import type Router from '@koa/router';
import { UnavailableError } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';

const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

const SWARM_PATHS = /^\/(swarm|nodes|services|tasks|secrets|configs)(\/|$)/;

/**
 * Berth is never part of a swarm: every swarm endpoint answers 503 with
 * dockerd's message for a node outside a swarm, which is what clients expect.
 * One prefix check instead of dozens of compiled routes keeps start-up cheap.
 */
export function swarmRoutes(router: Router, _deps: ApiDeps): void {
  router.all(SWARM_PATHS, () => {
    throw new UnavailableError(NOT_A_MANAGER);
  });
}
