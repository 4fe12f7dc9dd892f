import type { PluginManifest, ApiAdapter } from '../../kernel/index.js';
import { adapterPlugin } from './adapter-plugin.js';
import { v1_42 } from './v1_42.js';
import { v1_46 } from './v1_46.js';
import { v1_52 } from './v1_52.js';

/**
 * Every API version adapter, oldest first. One file per version whose changes
 * are visible on a route we serve; a version with no visible change has no file.
 */
export const versionAdapters: Array<PluginManifest<ApiAdapter>> = [v1_42, v1_46, v1_52].map(adapterPlugin);
