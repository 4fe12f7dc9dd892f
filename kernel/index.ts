/**
 * The import surface for plugins and the daemon entry point. Plugins import
 * from here only; they never reach into kernel internals or inversify.
 */
export * from './errors.js';
export * from './disposable.js';
export * from './log.js';
export * from './events/topics.js';
export * from './events/bus.js';
export * from './contracts/index.js';
export * from './config/daemon-config.js';
export * from './plugin/manifest.js';
export { PluginRegistry } from './plugin/registry.js';
export { PluginHost, type PluginStatus } from './plugin/plugin-host.js';
export { Slot, type Lease, type Activation } from './plugin/slot.js';
export { Scope, token, type Token, injectable, inject, optional, preDestroy, postConstruct } from './container.js';
export { Kernel, LoggerToken, EventBusToken, PluginHostToken } from './kernel.js';
export { loadIdentity, type DaemonIdentity } from './identity.js';
export { randomHexId, randomUuid } from './random.js';
export { replaceFile, replaceFileSynced, writeFileAtomic } from './fs/atomic.js';
export { removeTree } from './fs/remove-tree.js';
