import { errorKind, errorMessage, type ErrorKind } from '../../kernel/index.js';

/**
 * The one place where the kernel's error taxonomy becomes HTTP (moby's
 * httpstatus.FromError). No other code picks a status for an error.
 */
const STATUS: Record<ErrorKind, number> = {
  'not-found': 404,
  'invalid-parameter': 400,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  system: 500,
};

export function httpStatusOf(err: unknown): number {
  return STATUS[errorKind(err)];
}

/** Status and JSON body for an error; 304 has no body. */
export function errorResponse(err: unknown): { status: number; body?: string } {
  const status = httpStatusOf(err);
  if (status === 304) return { status };
  return { status, body: JSON.stringify({ message: errorMessage(err) }) + '\n' };
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 101: 'Switching Protocols', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable',
};
