import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.46 (Engine 27.0), from moby's api/docs/CHANGELOG.md:
 * "GET /events now emits an image `create` event when an image is built or
 * pulled; clients below 1.46 do not see it."
 */
export const v1_46: ApiAdapter = {
  version: '1.46',
  summary: 'image create events are hidden from older clients',
  responseRoutes: ['system.events'],
  response(route, body) {
    if (route !== 'system.events') return body;
    const e = body as { Type?: string; Action?: string };
    return e.Type === 'image' && e.Action === 'create' ? undefined : body;
  },
};
