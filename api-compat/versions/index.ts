import type { PluginManifest, ApiAdapter } from '../../kernel/index.js';
import { adapterPlugin } from './adapter-plugin.js';
import { v1_42 } from './v1_42.js';
import { v1_46 } from './v1_46.js';
import { v1_52 } from './v1_52.js';
import { v1_43 } from './v1_43.js';
import { v1_44 } from './v1_44.js';
import { v1_45 } from './v1_45.js';
import { v1_50 } from './v1_50.js';
import { v1_51 } from './v1_51.js';

/**
 * Every API version adapter, oldest first. One file per version whose changes
 * are visible on a route we serve; a version with no visible change has no file.
 */
export const versionAdapters: Array<PluginManifest<ApiAdapter>> = [v1_42, v1_46, v1_52].map(adapterPlugin);
versionAdapters.push(...[v1_43, v1_44, v1_45, v1_50, v1_51].map(adapterPlugin));
