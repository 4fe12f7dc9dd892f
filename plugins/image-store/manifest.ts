import { join } from 'node:path';
import { definePlugin, ExtensionPoint, type GraphDriver, type ImageStore } from '../../kernel/index.js';
import { LocalImageStore } from './local-image-store.js';

/** What image deletion needs of the container service. */
interface ContainerLister {
  list(): Promise<Array<{ Id: string; Image: string; State?: { Running?: boolean; Paused?: boolean } }>>;
}

/**
 * dockerd's classic image store on the active graph driver. Its state lives
 * where dockerd keeps it, `<data-root>/image/<driver name>/`, so switching
 * storage drivers shows a different set of images, as in dockerd. The graph
 * driver is asked for at use time; the store itself holds no mounts.
 */
export default definePlugin<ImageStore>({
  id: 'image-store',
  point: ExtensionPoint.ImageStore,
  name: 'local',
  description: 'Images, layers and references on the graph driver (dockerd layout)',
  requires: [ExtensionPoint.GraphDriver],
  swap: 'restart-only',
  async activate(ctx) {
    const driver = () => ctx.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    return LocalImageStore.open({
      root: join(ctx.paths.dataRoot, 'image', driver().name),
      driver,
      events: ctx.events,
      log: ctx.log,
      containers: async () => {
        // The container service requires this store, so it is looked up per call, by shape.
        const svc = ctx.host.tryCurrent<Partial<ContainerLister>>(ExtensionPoint.ContainerService);
        if (typeof svc?.list !== 'function') return [];
        return (await svc.list()).map((c) => ({ id: c.Id, image: c.Image, running: c.State?.Running === true || c.State?.Paused === true }));
      },
    });
  },
});
