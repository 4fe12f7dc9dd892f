import { ExtensionPoint, type ApiAdapter, type PluginHost } from '../../kernel/index.js';
import { compareVersions } from '../engine-version.js';

/**
 * Runs the version adapters that apply to one request: those whose version is
 * newer than the request's. Requests are lifted oldest → newest, responses
 * lowered newest → oldest (see kernel/contracts/api-adapter.ts).
 */
const chains = new Map<string, { from: ApiAdapter[]; chain: AdapterChain }>();

export class AdapterChain {
  private constructor(private readonly adapters: ApiAdapter[]) {}

  static for(host: PluginHost, version: string): AdapterChain {
    const current = [...host.all<ApiAdapter>(ExtensionPoint.ApiAdapter).values()];
    // Every request asks for its chain; it only changes when an adapter plugin is (re)loaded.
    const hit = chains.get(version);
    if (hit && hit.from.length === current.length && hit.from.every((a, i) => a === current[i])) return hit.chain;
    const applicable = current
      .filter((a) => compareVersions(a.version, version) > 0)
      .sort((a, b) => compareVersions(a.version, b.version));
    const chain = new AdapterChain(applicable);
    if (chains.size > 64) chains.clear(); // versions come from the URL: keep the cache bounded
    chains.set(version, { from: current, chain });
    return chain;
  }

  get empty(): boolean {
    return this.adapters.length === 0;
  }

  /** Whether some adapter of the chain may change this route's response. */
  lowers(route: string): boolean {
    return this.adapters.some((a) => a.response !== undefined && (a.responseRoutes === undefined || a.responseRoutes.includes(route)));
  }

  request(route: string, req: { query: Record<string, string | string[] | undefined>; body: unknown }): void {
    for (const a of this.adapters) a.request?.(route, req);
  }

  response(route: string, body: unknown, headers: Record<string, string>): unknown {
    let out = body;
    for (let i = this.adapters.length - 1; i >= 0; i--) {
      const a = this.adapters[i]!;
      if (a.response) out = a.response(route, out, { headers });
    }
    return out;
  }

  headers(route: string, headers: Record<string, string>): Record<string, string> {
    for (let i = this.adapters.length - 1; i >= 0; i--) this.adapters[i]!.headers?.(route, headers);
    return headers;
  }
}
