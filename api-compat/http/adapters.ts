import { ExtensionPoint, type ApiAdapter, type PluginHost } from '../../kernel/index.js';
import { compareVersions } from '../engine-version.js';

/**
 * Runs the version adapters that apply to one request: those whose version is
 * newer than the request's. Requests are lifted oldest → newest, responses
 * lowered newest → oldest (see kernel/contracts/api-adapter.ts).
 */
export class AdapterChain {
  private constructor(private readonly adapters: ApiAdapter[]) {}

  static for(host: PluginHost, version: string): AdapterChain {
    const applicable = [...host.all<ApiAdapter>(ExtensionPoint.ApiAdapter).values()]
      .filter((a) => compareVersions(a.version, version) > 0)
      .sort((a, b) => compareVersions(a.version, b.version));
    return new AdapterChain(applicable);
  }

  get empty(): boolean {
    return this.adapters.length === 0;
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
