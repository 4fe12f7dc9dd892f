import type { ApiAdapter } from '../../kernel/index.js';
import { insertAfter, legacyOf } from '../http/legacy-fields.js';

/**
 * API 1.45 (Engine 26.0), from moby's api/docs/CHANGELOG.md: "GET
 * /images/{name}/json no longer returns the `Container` and
 * `ContainerConfig` fields" (deprecated since the legacy builder). Older
 * clients get them back from the facts the route attached: Container only
 * when set, ContainerConfig always (a full container config).
 */
export const v1_45: ApiAdapter = {
  version: '1.45',
  summary: 'image inspect Container/ContainerConfig',
  responseRoutes: ['image.inspect'],
  response(route, body) {
    if (route !== 'image.inspect') return body;
    const facts = legacyOf(body);
    if (!facts) return body;
    const img = body as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    if (facts.Container) fields.Container = facts.Container;
    fields.ContainerConfig = facts.ContainerConfig;
    return insertAfter(img, 'Created' in img ? 'Created' : 'Comment', fields);
  },
};
