import type { RouteModule } from '../http/koa-app.js';
import { eventRoutes } from './events.js';
import { systemRoutes } from './system.js';
import { swarmRoutes } from './swarm.js';
import { volumeRoutes } from './volumes.js';
import { networkRoutes } from './networks.js';
import { imageRoutes } from './images.js';
import { containerRoutes } from './containers.js';
import { containerLifecycleRoutes } from './container-lifecycle.js';
import { containerLogRoutes } from './container-logs.js';
import { execRoutes } from './exec.js';
import { containerStatsRoutes } from './container-stats.js';
import { containerOpsRoutes } from './container-ops.js';
import { containerArchiveRoutes } from './container-archive.js';
import { containerAttachPlainRoutes } from './container-attach-plain.js';
import { hijackedRoutes } from './hijacked.js';
import { commitRoutes } from './commit.js';
import { distributionRoutes } from './distribution.js';
import { attachWsRoutes } from './attach-ws.js';
import type { HijackRouter } from '../http/hijack.js';
import type { ApiDeps } from '../http/api-context.js';

/** Every route module of the Engine API, in registration order. */
export const routeModules: RouteModule[] = [systemRoutes, eventRoutes, swarmRoutes];
routeModules.push(imageRoutes);
routeModules.push(distributionRoutes);
routeModules.push(volumeRoutes);
routeModules.push(networkRoutes);
routeModules.push(containerRoutes);
routeModules.push(commitRoutes);
routeModules.push(containerLifecycleRoutes, containerLogRoutes, execRoutes, containerStatsRoutes, containerOpsRoutes, containerArchiveRoutes, containerAttachPlainRoutes);

/** The hijacked (upgraded) endpoints: attach and exec start. */
export const hijackModules: Array<(router: HijackRouter, deps: ApiDeps) => void> = [hijackedRoutes];
hijackModules.push(attachWsRoutes);
