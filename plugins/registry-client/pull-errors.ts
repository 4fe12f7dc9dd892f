import { BerthError, InvalidParameterError, NotFoundError, SystemError, UnauthorizedError } from '../../kernel/index.js';
import { RegistryErrcode, UnexpectedHttpResponse } from './registry-errors.js';
import { RequestError } from './repo-client.js';

/**
 * dockerd's translatePullError and continueOnError (distribution/errors.go):
 * which registry answers end a pull with which message and status, and
 * which let it fall back to the next endpoint (the next mirror, the hub,
 * plain HTTP).
 */
export class DoNotRetry extends Error {
  constructor(readonly err: Error) {
    super(err.message);
  }
}

/** imageConfigPullError: only a mirror's failure to serve the config falls back. */
export class ConfigPullError extends Error {
  constructor(readonly err: Error) {
    super(err.message);
  }
}

export function unwrap(err: Error): Error {
  let e = err;
  while (e instanceof DoNotRetry || e instanceof ConfigPullError) e = e.err;
  return e;
}

/** `familiarName` for "pull access denied for x", `familiarRef` for "manifest for x:tag not found". */
export function translatePullError(err: Error, familiarName: string, familiarRef: string): Error {
  const e = unwrap(err);
  if (e instanceof BerthError) return e;
  const inner = e instanceof RequestError ? e.cause : e;
  if (inner instanceof RegistryErrcode) {
    switch (inner.code) {
      case 'DENIED':
        return new NotFoundError(`pull access denied for ${familiarName}, repository does not exist or may require 'docker login': ${inner.first}`);
      case 'MANIFEST_UNKNOWN':
        return new NotFoundError(`manifest for ${familiarRef} not found: ${inner.first}`);
      case 'NAME_UNKNOWN':
        return new NotFoundError(`repository ${familiarName} not found: ${inner.first}`);
      case 'UNAUTHORIZED':
        return new UnauthorizedError(e instanceof RequestError ? e.message : inner.first);
      default:
    }
  }
  return new SystemError(e.message);
}

export function continueOnError(err: Error, mirror: boolean): boolean {
  if (err instanceof ConfigPullError) return mirror;
  const e = unwrap(err);
  if (e instanceof InvalidParameterError) return false; // unsupported media type / manifest format
  if (e instanceof RegistryErrcode) return mirror;
  if (e instanceof UnexpectedHttpResponse) return true;
  if (/context canceled/.test(e.message)) return false;
  return !/no such process/.test(e.message);
}

/** retryOnError: which download failures are worth another attempt. */
export function retryable(err: Error): boolean {
  if (err instanceof DoNotRetry) return false;
  const inner = err instanceof RequestError ? err.cause : err;
  if (inner instanceof RegistryErrcode) return !['UNAUTHORIZED', 'UNSUPPORTED', 'DENIED', 'TOOMANYREQUESTS', 'NAME_UNKNOWN', 'BLOB_UNKNOWN'].includes(inner.code);
  if (inner instanceof UnexpectedHttpResponse) return false;
  if (/no space left on device|ENOSPC|context canceled/.test(inner.message)) return false;
  return true;
}
