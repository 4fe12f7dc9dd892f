import { InvalidParameterError } from '../../kernel/index.js';
import type { ApiContext } from './api-context.js';

/** Largest JSON body accepted (a create request with many env/labels is a few KiB). */
const MAX_JSON_BODY = 16 * 1024 * 1024;

/**
 * Reads a JSON request body as dockerd does (httputils.ReadJSON): an empty
 * body is fine (undefined); otherwise the Content-Type must be
 * application/json and the JSON must parse, else 400.
 */
export async function readJson<T = unknown>(ctx: ApiContext): Promise<T | undefined> {
  const raw = await readRaw(ctx, MAX_JSON_BODY);
  if (raw.length === 0 || raw.toString('utf8').trim() === '') return undefined;
  const type = ctx.get('Content-Type');
  if (type && !/^application\/json\s*(;|$)/i.test(type)) {
    throw new InvalidParameterError(`unsupported Content-Type header (${type}): must be 'application/json'`);
  }
  try {
    return JSON.parse(raw.toString('utf8')) as T;
  } catch (err) {
    throw new InvalidParameterError(`invalid JSON: ${(err as Error).message}`);
  }
}

async function readRaw(ctx: ApiContext, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new InvalidParameterError(`request body too large (limit ${limit} bytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
