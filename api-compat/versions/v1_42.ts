import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.42 (Engine 23.0), from moby's api/docs/CHANGELOG.md:
 * "GET /system/df can now take a `type` query parameter to select which
 * object types to compute." Older clients never meant it: ignore it.
 */
export const v1_42: ApiAdapter = {
  version: '1.42',
  summary: 'system/df accepts type=',
  request(route, req) {
    if (route === 'system.df') delete req.query.type;
  },
};
