/**
 * An API version adapter undoes, for older clients, one API version's changes.
 *
 * Routes are written once, against the newest API. For a request at version V,
 * the API server runs `request` of every adapter with `version > V` from the
 * oldest to the newest (lifting the old request to today's shape), and
 * `response` of the same adapters from the newest down to the oldest (lowering
 * today's answer to V's shape). So each adapter only knows its own delta,
 * quoted from moby's api/docs/CHANGELOG.md in its doc comment.
 *
 * Route ids name a route, e.g. "system.info", "system.events" (one per handler).
 */
export interface ApiAdapter {
  /** The API version that introduced the change, e.g. "1.52". */
  readonly version: string;
  /** One line: what changed in that version. */
  readonly summary: string;
  request?(route: string, req: AdaptedRequest): void;
  /**
   * The routes whose response `response` may change; absent means any route.
   * A route none of its adapters lowers can send pre-serialised JSON (the
   * container list does, see plugins/container-service/summary-json.ts).
   */
  readonly responseRoutes?: readonly string[];
  /** Returns the body to send (may mutate and return `body`). Also used per message on streams. */
  response?(route: string, body: unknown, res: AdaptedResponse): unknown;
  /** Adjusts response headers before they are sent (e.g. a stream's Content-Type). */
  headers?(route: string, headers: Record<string, string>): void;
}

export interface AdaptedRequest {
  query: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface AdaptedResponse {
  /** Response headers the adapter may change (e.g. a stream's Content-Type). */
  headers: Record<string, string>;
}
