/**
 * The one error taxonomy of Berth. Every layer throws these (or wraps a cause in
 * them); the API layer maps `kind` to an HTTP status in exactly one place
 * (api-compat/http/error-mapping.ts), the way moby's errdefs + httpstatus do.
 */
export type ErrorKind =
  | 'not-found'
  | 'invalid-parameter'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'not-modified'
  | 'not-implemented'
  | 'unavailable'
  | 'system';

export class BerthError extends Error {
  readonly kind: ErrorKind = 'system';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends BerthError { override readonly kind = 'not-found' as const; }
export class InvalidParameterError extends BerthError { override readonly kind = 'invalid-parameter' as const; }
export class ConflictError extends BerthError { override readonly kind = 'conflict' as const; }
export class UnauthorizedError extends BerthError { override readonly kind = 'unauthorized' as const; }
export class ForbiddenError extends BerthError { override readonly kind = 'forbidden' as const; }
/** "Nothing to do" outcomes dockerd answers with 304 (start a running container…). */
export class NotModifiedError extends BerthError { override readonly kind = 'not-modified' as const; }
export class NotImplementedError extends BerthError { override readonly kind = 'not-implemented' as const; }
export class UnavailableError extends BerthError { override readonly kind = 'unavailable' as const; }
export class SystemError extends BerthError { override readonly kind = 'system' as const; }

/** The kind of any thrown value; foreign errors count as `system`. */
export function errorKind(err: unknown): ErrorKind {
  return err instanceof BerthError ? err.kind : 'system';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
