import { definePlugin, ExtensionPoint, type ApiAdapter, type PluginManifest } from '../../kernel/index.js';

/** Wraps one version adapter as a plugin: stateless, swapped live. */
export function adapterPlugin(adapter: ApiAdapter): PluginManifest<ApiAdapter> {
  return definePlugin<ApiAdapter>({
    id: `api-v${adapter.version}`,
    point: ExtensionPoint.ApiAdapter,
    name: adapter.version,
    description: adapter.summary,
    swap: 'live',
    activate: () => adapter,
  });
}
