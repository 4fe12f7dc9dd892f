import { join } from 'node:path';
import { ExtensionPoint, type DaemonConfig, type EventBus, type GraphDriver, type Logger, type PluginHost } from '../../kernel/index.js';
import { ImageCore } from './image-core.js';
import { migrateStore, type MigrationReport } from './image-migrate.js';

export interface DriverMigration {
  host: PluginHost;
  config: Readonly<DaemonConfig>;
  /** The storage driver whose store the images come from. */
  from: string;
  /** The store they go to, open on its own driver. */
  dst: ImageCore;
  log: Logger;
  events: EventBus;
  progress?: (line: string) => void;
}

/**
 * Opens the old driver on its own (no storage-opts: those belong to the
 * driver now configured) and its image store, copies the images across,
 * and releases the old driver again.
 */
export async function migrateFromDriver(m: DriverMigration): Promise<MigrationReport> {
  const old = await m.host.activateDetached<GraphDriver>(ExtensionPoint.GraphDriver, m.from, { ...m.config, 'storage-driver': m.from, 'storage-opts': [] });
  try {
    const src = await ImageCore.open({
      root: join(m.config['data-root'], 'image', m.from),
      driver: () => old.instance,
      driverName: m.from,
      events: m.events,
      log: m.log,
    });
    return await migrateStore(src, m.dst, m.log, m.progress);
  } finally {
    await old.retire();
  }
}

/** One line summing a report up, for the command and the log. */
export function reportLine(r: MigrationReport): string {
  const parts = [`${r.migrated.length} image(s) migrated from ${r.from} to ${r.to}`, `${r.present.length} already present`, `${r.tagsAdded} reference(s) added`];
  if (r.conflicts.length) parts.push(`references already used in ${r.to}, left as they are: ${r.conflicts.join(', ')}`);
  if (r.failed.length) parts.push(`${r.failed.length} failed: ${r.failed.map((f) => `${f.id}: ${f.error}`).join('; ')}`);
  return parts.join('; ');
}
