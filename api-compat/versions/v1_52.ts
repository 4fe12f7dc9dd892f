import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.52 (Engine 29.0), from moby's api/docs/CHANGELOG.md: "GET /events:
 * the deprecated `status`, `id` and `from` fields are no longer sent." Our
 * routes produce the 1.52 shape; every client we serve (max 1.51) still gets
 * the legacy fields, for container and image events as dockerd sends them.
 */
export const v1_52: ApiAdapter = {
  version: '1.52',
  summary: 'legacy status/id/from event fields',
  responseRoutes: ['system.events'],
  response(route, body) {
    if (route !== 'system.events') return body;
    const e = body as { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } } & Record<string, unknown>;
    if (e.Type !== 'container' && e.Type !== 'image') return body;
    const legacy: Record<string, unknown> = { status: e.Action, id: e.Actor.ID };
    if (e.Type === 'container' && e.Actor.Attributes.image) legacy.from = e.Actor.Attributes.image;
    return { ...legacy, ...e };
  },
};
