import { join } from 'node:path';
import { definePlugin, ExtensionPoint, type ContainerService } from '../../kernel/index.js';
import { LocalContainerService } from './container-service.js';

/** The container service: state under `<data-root>/containers`, as dockerd's. */
export default definePlugin<ContainerService>({
  id: 'container-service',
  point: ExtensionPoint.ContainerService,
  name: 'containers',
  requires: [ExtensionPoint.GraphDriver, ExtensionPoint.ImageStore],
  swap: 'restart-only',
  activate: (ctx) =>
    LocalContainerService.open({
      root: join(ctx.paths.dataRoot, 'containers'),
      host: ctx.host,
      events: ctx.events,
      log: ctx.log,
      daemon: () => ctx.host.daemonConfig,
    }),
});
