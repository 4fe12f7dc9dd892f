import type { RegistryAuth } from '../../kernel/index.js';
import type { ApiContext } from './api-context.js';

/**
 * The `X-Registry-Auth` header: base64url (standard base64 accepted too)
 * of an AuthConfig JSON. As dockerd, a header that does not decode means no
 * credentials rather than an error, so an anonymous pull still works.
 */
export function registryAuthHeader(ctx: ApiContext): RegistryAuth {
  const raw = ctx.get('X-Registry-Auth');
  if (!raw) return {};
  return decodeRegistryAuth(raw);
}

export function decodeRegistryAuth(raw: string): RegistryAuth {
  try {
    const json = Buffer.from(raw.trim(), 'base64').toString('utf8');
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return pickAuth(v as Record<string, unknown>);
  } catch {
    return {};
  }
}

/** The AuthConfig fields, matched case-insensitively as Go's encoding/json does. */
export function pickAuth(v: Record<string, unknown>): RegistryAuth {
  const out: Record<string, string> = {};
  const keys = ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'];
  for (const [k, val] of Object.entries(v)) {
    const key = k.toLowerCase();
    if (keys.includes(key) && typeof val === 'string') out[key] = val;
  }
  return out as RegistryAuth;
}
