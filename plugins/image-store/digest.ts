import { createHash, randomBytes } from 'node:crypto';

/**
 * Content addresses as dockerd computes them (opencontainers/go-digest and
 * image-spec/identity): everything is `sha256:<64 lowercase hex>`.
 */
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function isDigest(value: string): boolean {
  return DIGEST_RE.test(value);
}

/** The hex part of `sha256:<hex>`. */
export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** dockerd's stringid.TruncateID: the first 12 hex digits, without the algorithm. */
export function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

/**
 * ChainID of a layer stack (identity.ChainID): chain[0] = diff[0],
 * chain[n] = sha256(chain[n-1] + " " + diff[n]). Returns the chain of every
 * prefix, bottom first, so callers can name each layer.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diff of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diff : sha256(`${parent} ${diff}`));
  }
  return out;
}

/** A random 64-hex id (stringid.GenerateRandomID), used for graph-driver cache ids. */
export function randomId(): string {
  return randomBytes(32).toString('hex');
}
