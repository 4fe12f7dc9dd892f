import type { IncomingHttpHeaders } from 'node:http';
import { parseChallenges } from './auth-challenge.js';

/**
 * Registry error responses as docker/distribution's client reads them
 * (errcode.Error, UnexpectedHTTPResponseError, UnexpectedHTTPStatusError),
 * with their Go `Error()` strings, since dockerd prints those verbatim.
 */
export class RegistryErrcode extends Error {
  constructor(readonly code: string, readonly detailMessage: string, readonly status: number, readonly more: RegistryErrcode[] = []) {
    super(more.length === 0
      ? `${codeText(code)}: ${detailMessage}`
      : `errors:\n${[`${codeText(code)}: ${detailMessage}`, ...more.map((m) => m.message)].join('\n')}\n`);
  }

  /** The first error alone (translatePullError looks at v[0] of errcode.Errors). */
  get first(): string {
    return `${codeText(this.code)}: ${this.detailMessage}`;
  }
}

/** Go's errcode.ErrorCode.Error(): lower case, `_` → space. */
function codeText(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

/** The messages errcode.Register gives the codes we synthesise. */
const CODE_MESSAGES: Record<string, string> = {
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  TOOMANYREQUESTS: 'too many requests',
  UNKNOWN: 'unknown error',
};

export class UnexpectedHttpResponse extends Error {
  constructor(readonly status: number, parseErr: string, body: Buffer) {
    super(`error parsing HTTP ${status} response body: ${parseErr}: ${goQuote(body.toString('latin1'))}`);
  }
}

export class UnexpectedHttpStatus extends Error {
  constructor(readonly status: number, statusText: string) {
    super(`received unexpected HTTP status: ${status} ${statusText}`);
  }
}

/** Go's %q for the bodies we quote (ASCII printable kept, the rest escaped). */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

function parseErrorBody(status: number, body: Buffer): Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return new UnexpectedHttpResponse(status, goJsonError(body, err as Error), body);
  }
  const obj = parsed as { details?: unknown; errors?: unknown };
  if (obj && typeof obj === 'object' && typeof obj.details === 'string' && obj.details !== '') {
    const code = status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN';
    return new RegistryErrcode(code, obj.details, status);
  }
  const list = Array.isArray(obj?.errors) ? obj.errors as Array<{ code?: unknown; message?: unknown }> : [];
  if (list.length === 0) return new UnexpectedHttpResponse(status, 'no error details found in HTTP response body', body);
  const errs = list.map((e) => {
    const code = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
    const msg = typeof e?.message === 'string' && e.message !== '' ? e.message : CODE_MESSAGES[code] ?? codeText(code);
    return new RegistryErrcode(code, msg, status);
  });
  return new RegistryErrcode(errs[0]!.code, errs[0]!.detailMessage, status, errs.slice(1));
}

function goJsonError(body: Buffer, err: Error): string {
  if (body.length === 0) return 'unexpected end of JSON input';
  const first = body.toString('utf8').trimStart()[0];
  if (first !== undefined && !'{["-0123456789tfn'.includes(first)) return `invalid character '${first}' looking for beginning of value`;
  return err.message;
}

/** client.HandleErrorResponse. */
export function handleErrorResponse(status: number, statusText: string, headers: IncomingHttpHeaders, body: Buffer): Error {
  if (status >= 400 && status < 500) {
    for (const c of parseChallenges(headers['www-authenticate'])) {
      if (c.scheme !== 'bearer') continue;
      const code = c.params.error === 'invalid_token' ? 'UNAUTHORIZED' : c.params.error === 'insufficient_scope' ? 'DENIED' : undefined;
      if (!code) continue;
      const first = new RegistryErrcode(code, c.params.error_description || CODE_MESSAGES[code]!, status);
      const rest = parseErrorBody(status, body);
      if (rest instanceof RegistryErrcode) return new RegistryErrcode(first.code, first.detailMessage, status, [new RegistryErrcode(rest.code, rest.detailMessage, status), ...rest.more]);
      return first;
    }
    const err = parseErrorBody(status, body);
    if (err instanceof UnexpectedHttpResponse && status === 401) {
      return new RegistryErrcode('UNAUTHORIZED', CODE_MESSAGES.UNAUTHORIZED!, status);
    }
    return err;
  }
  return new UnexpectedHttpStatus(status, statusText);
}
