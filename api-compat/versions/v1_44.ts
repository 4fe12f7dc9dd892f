import type { ApiAdapter } from '../../kernel/index.js';
import { insertAfter } from '../http/legacy-fields.js';

/**
 * API 1.44 (Engine 25.0), from moby's api/docs/CHANGELOG.md: "The
 * `VirtualSize` field is removed from GET /images/json, GET
 * /images/{name}/json and GET /system/df" (it always equalled Size). Older
 * clients get it back, and inspect's Created is Go's zero time rather than
 * absent (moby#47368).
 */
export const v1_44: ApiAdapter = {
  version: '1.44',
  summary: 'VirtualSize in image list, inspect and df',
  responseRoutes: ['image.list', 'system.df', 'image.inspect'],
  response(route, body) {
    if (route === 'image.list' && Array.isArray(body)) return body.map(withVirtualSize);
    if (route === 'system.df' && body && typeof body === 'object') {
      const df = body as { Images?: unknown[] | null };
      if (Array.isArray(df.Images)) df.Images = df.Images.map(withVirtualSize);
      return df;
    }
    if (route === 'image.inspect' && body && typeof body === 'object') {
      let img = body as Record<string, unknown>;
      if (!('Created' in img)) img = insertAfter(img, 'Comment', { Created: '0001-01-01T00:00:00Z' });
      return insertAfter(img, 'Size', { VirtualSize: img.Size });
    }
    return body;
  },
};

function withVirtualSize(item: unknown): unknown {
  const img = item as Record<string, unknown>;
  return insertAfter(img, 'Size', { VirtualSize: img.Size });
}
