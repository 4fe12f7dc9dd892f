import type { RouteModule } from '../http/koa-app.js';
import { eventRoutes } from './events.js';
import { systemRoutes } from './system.js';
import { swarmRoutes } from './swarm.js';
import { volumeRoutes } from './volumes.js';
import { imageRoutes } from './images.js';
import { containerRoutes } from './containers.js';

/** Every route module of the Engine API, in registration order. */
export const routeModules: RouteModule[] = [systemRoutes, eventRoutes, swarmRoutes];
routeModules.push(imageRoutes);
routeModules.push(volumeRoutes);
routeModules.push(containerRoutes);
