import { InvalidParameterError } from '../../kernel/index.js';
import { ENGINE_VERSION, MAX_API_VERSION, MIN_API_VERSION, compareVersions } from '../engine-version.js';

/**
 * API version handling (moby's VersionMiddleware): an optional `/vX.Y` prefix
 * is parsed and stripped so routes are written once; no prefix means the
 * newest version. Versions outside [min, max] are refused with dockerd's words.
 */
const PREFIX = /^\/v([0-9][0-9.]*)(\/.*)?$/;

export interface ParsedPath {
  version?: string;
  path: string;
}

export function splitVersion(path: string): ParsedPath {
  const m = PREFIX.exec(path);
  if (!m) return { path };
  return { version: m[1], path: m[2] ?? '/' };
}

/** Headers dockerd puts on every response. */
export function commonHeaders(experimental: boolean): Record<string, string> {
  return {
    'Api-Version': MAX_API_VERSION,
    Server: `Docker/${ENGINE_VERSION} (linux)`,
    Ostype: 'linux',
    'Docker-Experimental': String(experimental),
  };
}

/** The minimum accepted version: env DOCKER_MIN_API_VERSION, then daemon.json, then the default. */
export function effectiveMinVersion(configured: string | undefined, fallback: string): string {
  const wanted = process.env.DOCKER_MIN_API_VERSION || configured || fallback;
  return compareVersions(wanted, MIN_API_VERSION) < 0 ? MIN_API_VERSION : wanted;
}

export class VersionError extends InvalidParameterError {
  /** Clients older than 1.24 predate JSON errors and get plain text. */
  readonly plainText: boolean;
  constructor(message: string, plainText: boolean) {
    super(message);
    this.plainText = plainText;
  }
}

export function checkVersion(version: string, min: string): void {
  if (compareVersions(version, MAX_API_VERSION) > 0) {
    throw new VersionError(`client version ${version} is too new. Maximum supported API version is ${MAX_API_VERSION}`, false);
  }
  if (compareVersions(version, min) < 0) {
    throw new VersionError(
      `client version ${version} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`,
      compareVersions(version, '1.24') < 0,
    );
  }
}
