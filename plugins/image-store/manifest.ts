import { join } from 'node:path';
import { definePlugin, ExtensionPoint, InvalidParameterError, type GraphDriver, type ImageStore, type PluginContext } from '../../kernel/index.js';
import { LocalImageStore } from './local-image-store.js';
import { reportLine } from './migrate-driver.js';
import { strandedWarning } from './other-driver-stores.js';

/** What image deletion needs of the container service (ContainerService's list and evictImageCaches). */
interface ContainerLister {
  list(): Promise<Array<{ Id: string; Image: string; State?: { Running?: boolean; Paused?: boolean } }>>;
  evictImageCaches(topLayer: string): Promise<void>;
}

interface ImageStoreSettings {
  /** Berth's opt-in: at start, copy the images of other storage drivers' stores into the current one. */
  'migrate-on-start': boolean;
}

/**
 * dockerd's classic image store on the active graph driver. Its state lives
 * where dockerd keeps it, `<data-root>/image/<driver name>/`, so switching
 * storage drivers shows a different set of images, as in dockerd (but
 * Berth says which images stay behind and can migrate them). The graph
 * driver is asked for at use time; the store itself holds no mounts.
 */
export default definePlugin<ImageStore, ImageStoreSettings>({
  id: 'image-store',
  point: ExtensionPoint.ImageStore,
  name: 'local',
  description: 'Images, layers and references on the graph driver (dockerd layout)',
  requires: [ExtensionPoint.GraphDriver],
  swap: 'restart-only',
  defaults: () => ({ 'migrate-on-start': false }),
  async activate(ctx) {
    const driver = () => ctx.host.current<GraphDriver>(ExtensionPoint.GraphDriver);
    const store = await LocalImageStore.open({
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
      evictCaches: async (topLayer: string) => {
        const svc = ctx.host.tryCurrent<Partial<ContainerLister>>(ExtensionPoint.ContainerService);
        if (typeof svc?.evictImageCaches === 'function') await svc.evictImageCaches(topLayer);
      },
      dataRoot: ctx.paths.dataRoot,
    });
    await bringOverStrandedImages(store, ctx);
    return store;
  },
});

/**
 * A changed `storage-driver` leaves the old driver's images in their own
 * store. With `migrate-on-start` they are copied over now (the daemon holds
 * the pidfile, so nothing else writes either store); without it, or for
 * what could not be copied, the log says which images stay behind.
 */
async function bringOverStrandedImages(store: LocalImageStore, ctx: PluginContext<ImageStoreSettings>): Promise<void> {
  if (typeof ctx.config['migrate-on-start'] !== 'boolean') {
    throw new InvalidParameterError('invalid berth section: "plugins.image-store.migrate-on-start" must be a boolean');
  }
  let stranded = await store.strandedStores();
  if (stranded.length && ctx.config['migrate-on-start'] === true) {
    for (const s of stranded) {
      try {
        const report = await store.migrateFrom({
          host: ctx.host, config: ctx.daemon, from: s.driver, log: ctx.log, events: ctx.events,
          progress: (line) => ctx.log.info(line),
        });
        ctx.log.info(`image migration: ${reportLine(report)}`);
      } catch (err) {
        ctx.log.error('image migration failed; the images stay under their storage driver', { from: s.driver, to: store.driverName, error: err });
      }
    }
    stranded = await store.strandedStores();
  }
  for (const s of stranded) ctx.log.warn(strandedWarning(s, store.driverName));
}
