import type { ParameterizedContext, Next } from 'koa';
import type { DaemonConfig, EventBus, Logger, PluginHost } from '../../kernel/index.js';

/** What every route handler can reach: the plugin host and daemon facts, never plugin internals. */
export interface ApiDeps {
  host: PluginHost;
  events: EventBus;
  log: Logger;
  /** The live daemon configuration (changes on reload). */
  config(): Readonly<DaemonConfig>;
  /** The daemon's persistent identity (`docker info` ID). */
  engineId: string;
  /** Number of open `/events` streams, for `/info` NEventsListener. */
  eventListeners: { count: number };
}

/** Per-request state set by the middleware chain. */
export interface ApiState {
  /** The API version of this request (from /vX.Y or the newest). */
  version: string;
  /** The route id once a route matched (e.g. "system.info"); adapters key on it. */
  route?: string;
}

export type ApiContext = ParameterizedContext<ApiState>;
export type ApiMiddleware = (ctx: ApiContext, next: Next) => Promise<void> | void;
