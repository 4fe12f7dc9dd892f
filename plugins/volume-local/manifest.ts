import { join } from 'node:path';
import { definePlugin, ExtensionPoint, type VolumeService } from '../../kernel/index.js';
import { LocalVolumeService } from './local-volume-service.js';

/**
 * The volume service with dockerd's `local` driver. Volumes live under
 * `<data-root>/volumes` (dockerd's path, not the per-plugin `<data-root>/local`).
 * References are held in memory by running containers, so the instance is
 * never swapped while the daemon runs.
 */
export default definePlugin<VolumeService>({
  id: 'volume-local',
  point: ExtensionPoint.VolumeService,
  name: 'local',
  description: 'Named and anonymous volumes, as dockerd\'s local volume driver',
  swap: 'restart-only',
  activate: (ctx) => LocalVolumeService.open({ root: join(ctx.paths.dataRoot, 'volumes'), events: ctx.events, log: ctx.log }),
});
