import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiServer as ApiServerContract, DaemonConfig, EventBus, Logger, PluginHost } from '../kernel/index.js';
import type { ApiDeps } from './http/api-context.js';
import { HijackRouter } from './http/hijack.js';
import { createKoaApp, type RouteModule } from './http/koa-app.js';
import { ApiListener } from './http/listener.js';
import { effectiveMinVersion } from './http/version.js';
import { DEFAULT_MIN_API_VERSION } from './engine-version.js';

export interface ApiServerOptions {
  host: PluginHost;
  events: EventBus;
  log: Logger;
  routes: readonly RouteModule[];
  /** Hijack routes register themselves here (attach, exec start). */
  hijackModules?: ReadonlyArray<(router: HijackRouter, deps: ApiDeps) => void>;
}

/**
 * The Docker Engine API server: Koa for ordinary requests, the hijack router
 * for upgraded ones, on every `hosts` address. Usable without the kernel's
 * plugin machinery (tests build one around a bare PluginHost).
 */
export class EngineApiServer implements ApiServerContract {
  readonly deps: ApiDeps;
  readonly hijack: HijackRouter;
  private readonly listener: ApiListener;
  private bound = false;
  readonly app;

  constructor(private readonly opts: ApiServerOptions) {
    this.deps = {
      host: opts.host,
      events: opts.events,
      log: opts.log,
      config: () => opts.host.daemonConfig as DaemonConfig,
      get engineId() { return opts.host.identity.id; },
      eventListeners: { count: 0 },
    };
    const minVersion = () => effectiveMinVersion(this.deps.config()['min-api-version'] as string | undefined, DEFAULT_MIN_API_VERSION);
    this.app = createKoaApp(this.deps, opts.routes, { minVersion });
    this.hijack = new HijackRouter(opts.log);
    for (const mod of opts.hijackModules ?? []) mod(this.hijack, this.deps);
    this.listener = new ApiListener(opts.log);
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.hijack.handle(req, socket, head, { minVersion, experimental: () => this.deps.config().experimental === true });
    };
    this.listener.setHandlers(this.app.callback(), onUpgrade);
  }

  /** The Node request handler, for supertest and in-process use. */
  callback() {
    return this.app.callback();
  }

  /**
   * Binds every `hosts` address while the other plugins still activate, with
   * requests held until `start()`: the sockets' set-up (stale socket removal,
   * bind, chmod, group lookup and chown) is off the path to the first answer,
   * yet nothing is answered before every plugin has started. A failed bind
   * closes what was bound.
   */
  async bind(): Promise<void> {
    const cfg = this.deps.config();
    this.listener.hold();
    try {
      await this.listener.listen(cfg.hosts, cfg.group as string | undefined);
    } catch (err) {
      await this.listener.close();
      throw err;
    }
    this.bound = true;
  }

  async start(): Promise<void> {
    if (!this.bound) await this.bind();
    this.listener.release();
  }

  addresses(): string[] {
    return this.listener.addresses();
  }

  async stop(): Promise<void> {
    await this.listener.close();
  }
}
