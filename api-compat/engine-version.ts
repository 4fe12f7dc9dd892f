import pkg from '../package.json' with { type: 'json' };

/**
 * The API and engine versions Berth presents to Docker clients.
 *
 * MAX_API_VERSION is the newest API whose shapes the routes produce; every
 * older version down to MIN_API_VERSION is served through the adapters in
 * versions/. 1.51 is what Docker Engine 28.3–28.5 speak: CLI 28.2 (1.50)
 * negotiates down to its own maximum, and SDKs that use unversioned paths get
 * shapes they know (1.52 dropped the legacy event fields and changed df).
 */
export const MAX_API_VERSION = '1.51';
/** The hard floor: JSON errors and today's wire conventions start at 1.24. */
export const MIN_API_VERSION = '1.24';
/** Default minimum accepted, lowered or raised by `min-api-version` / DOCKER_MIN_API_VERSION. */
export const DEFAULT_MIN_API_VERSION = '1.24';

export const BERTH_VERSION: string = pkg.version;

/**
 * Engine version as clients see it: the Docker release whose API we match,
 * with Berth's own version as semver build metadata (like "20.10.24+dfsg1"),
 * so tools that compare engine versions keep working.
 */
export const ENGINE_VERSION = `28.5.0+berth.${BERTH_VERSION}`;

/** Compares dotted API versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export const versionLessThan = (a: string, b: string): boolean => compareVersions(a, b) < 0;
export const versionAtLeast = (a: string, b: string): boolean => compareVersions(a, b) >= 0;

/** Go's GOARCH for Node's process.arch, as `/version` and `/info` report it. */
export function goArch(arch: string = process.arch): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}
