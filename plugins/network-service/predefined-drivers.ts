import type { NetworkDriver } from '../../kernel/index.js';

/**
 * libnetwork's `host` and `null` drivers: networks without connectivity
 * of their own. A `host` container stays in the daemon's namespace and a
 * `none` container gets a namespace with loopback only; both are left to
 * the exec driver (NetworkMode host/none), so every operation is a no-op.
 */
class PassiveDriver implements NetworkDriver {
  readonly scope = 'local' as const;
  constructor(readonly type: string) {}
  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async createEndpoint(): Promise<void> {}
  async deleteEndpoint(): Promise<void> {}
  async endpointInfo(): Promise<Record<string, unknown>> { return {}; }
  async join(): Promise<void> {}
  async leave(): Promise<void> {}
  async dispose(): Promise<void> {}
}

export const hostDriver: NetworkDriver = new PassiveDriver('host');
export const nullDriver: NetworkDriver = new PassiveDriver('null');
