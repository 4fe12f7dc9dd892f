import { Scope, token, type Token } from './container.js';
import type { DaemonConfig } from './config/daemon-config.js';
import { EventBus } from './events/bus.js';
import type { Logger } from './log.js';
import type { AnyManifest } from './plugin/manifest.js';
import { PluginHost } from './plugin/plugin-host.js';
import { PluginRegistry } from './plugin/registry.js';

export const LoggerToken: Token<Logger> = token('Logger');
export const EventBusToken: Token<EventBus> = token('EventBus');
export const PluginHostToken: Token<PluginHost> = token('PluginHost');

/**
 * The microkernel: a DI root scope, the event bus, the plugin registry and
 * host. It knows nothing about containers or HTTP; every Docker-shaped
 * responsibility arrives as a plugin manifest.
 */
export class Kernel {
  readonly events: EventBus;
  readonly registry: PluginRegistry;
  readonly plugins: PluginHost;
  readonly scope = new Scope();

  constructor(manifests: readonly AnyManifest[], readonly log: Logger) {
    this.events = new EventBus(log.child({ component: 'bus' }));
    this.registry = new PluginRegistry(manifests);
    this.plugins = new PluginHost(this.registry, this.scope, this.events, log);
    this.scope.bindValue(LoggerToken, log);
    this.scope.bindValue(EventBusToken, this.events);
    this.scope.bindValue(PluginHostToken, this.plugins);
  }

  /** Activates and starts every plugin for this configuration. */
  async start(config: DaemonConfig): Promise<void> {
    await this.plugins.boot(config);
    await this.plugins.start();
  }

  /** Swaps in a reloaded configuration (transactional; throws and keeps the old one on failure). */
  async reload(next: DaemonConfig, changed: readonly string[]): Promise<string[]> {
    const notes = await this.plugins.reload(next, changed);
    this.events.emit('config.reloaded', { changed: [...changed] });
    return notes;
  }

  async shutdown(reason = 'shutdown'): Promise<void> {
    await this.plugins.shutdown(reason);
    await this.scope.dispose();
  }
}
