import { SystemError, type HistoryEntry } from '../../kernel/index.js';
import type { ImageCore } from './image-core.js';
import { unixSeconds } from './go-format.js';
import { familiarString } from './reference.js';

/**
 * ImageHistory: one row per history entry, newest first, with the layer
 * size of entries that made a layer. Rows get the image's ID (and tags)
 * from the top down along the local parent chain; the rest stay
 * `<missing>`, exactly as dockerd shows pulled or loaded images.
 */
export function imageHistory(core: ImageCore, refOrId: string): HistoryEntry[] {
  const img = core.resolve(refOrId);
  const rows: HistoryEntry[] = [];
  let layer = 0;
  for (const h of img.config.history ?? []) {
    let size = 0;
    if (!h?.empty_layer) {
      const chainId = img.chain[layer];
      if (chainId === undefined) throw new SystemError('too many non-empty layers in History section');
      size = core.layers.get(chainId)?.size ?? 0;
      layer++;
    }
    rows.unshift({
      Id: '<missing>',
      Created: unixSeconds(h?.created),
      CreatedBy: h?.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h?.comment ?? '',
    });
  }
  let cur: typeof img | undefined = img;
  for (const row of rows) {
    row.Id = cur.id;
    const tags = core.references(cur.id).filter((r) => r.tag !== undefined && r.digest === undefined).map(familiarString);
    row.Tags = tags.length > 0 ? tags : null;
    if (!cur.parent) break;
    cur = core.images.get(cur.parent);
    if (!cur) break;
  }
  return rows;
}
