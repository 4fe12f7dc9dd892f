import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.51 (Engine 28.3), from moby's api/docs/CHANGELOG.md: "GET
 * /images/json now sets `Containers` to the number of containers using
 * the image; it was always -1 before."
 */
export const v1_51: ApiAdapter = {
  version: '1.51',
  summary: 'images/json Containers is -1',
  responseRoutes: ['image.list'],
  response(route, body) {
    if (route !== 'image.list' || !Array.isArray(body)) return body;
    for (const img of body as Array<{ Containers: number }>) img.Containers = -1;
    return body;
  },
};
