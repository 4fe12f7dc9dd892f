import { ForbiddenError, InvalidParameterError } from '../../kernel/index.js';

/**
 * Image references as distribution/reference parses them: `name[:tag][@digest]`
 * where a name without a registry belongs to docker.io, and a one-component
 * docker.io name to `library/`. Stored and compared in the normalised form
 * (`docker.io/library/busybox:latest`), shown in the familiar one
 * (`busybox:latest`).
 */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_RE = new RegExp(`^(?:(${DOMAIN})/)?(${REMOTE_NAME})$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Validates an `algo:hex` digest as go-digest's Parse; returns the error message or null. */
export function digestError(value: string): string | null {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return 'invalid checksum digest format';
  const algo = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  const want = DIGEST_LENGTHS[algo];
  if (want === undefined) return 'unsupported digest algorithm';
  if (!/^[a-f0-9]+$/.test(hex) || hex.length !== want) return 'invalid checksum digest length';
  return null;
}

/** reference.Parse: an exact reference, no normalisation. */
function parse(s: string): Reference {
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    if (s === '') throw new InvalidParameterError('invalid reference format: repository name must have at least one component');
    if (REFERENCE_RE.test(s.toLowerCase())) throw new InvalidParameterError('invalid reference format: repository name must be lowercase');
    throw new InvalidParameterError('invalid reference format');
  }
  const nm = NAME_RE.exec(m[1]!)!;
  const ref: Reference = { domain: nm[1] ?? '', path: nm[2]! };
  if (ref.path.length > NAME_TOTAL_LENGTH_MAX) throw new InvalidParameterError('invalid reference format: repository name must not be more than 255 characters');
  if (m[2]) ref.tag = m[2];
  if (m[3]) {
    const err = digestError(m[3]);
    if (err) throw new InvalidParameterError(err);
    ref.digest = m[3];
  }
  return ref;
}

function splitDockerDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let rest: string;
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    rest = name;
  } else {
    domain = first;
    rest = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_PREFIX + rest;
  return [domain, rest];
}

/** reference.ParseNormalizedNamed: `busybox` → docker.io/library/busybox. */
export function parseNormalizedNamed(s: string): Reference {
  if (IDENTIFIER_RE.test(s)) {
    throw new InvalidParameterError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, rest] = splitDockerDomain(s);
  const colon = rest.indexOf(':');
  const remoteName = colon < 0 ? rest : rest.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) {
    throw new InvalidParameterError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  return parse(`${domain}/${rest}`);
}

/** reference.ParseAnyReference: a bare 64-hex ID or `sha256:…` digest, else a normalised name. */
export function parseAnyReference(s: string): Reference | { id: string } {
  if (IDENTIFIER_RE.test(s)) return { id: `sha256:${s}` };
  if (digestError(s) === null) return { id: s };
  return parseNormalizedNamed(s);
}

export function isNamed(r: Reference | { id: string }): r is Reference {
  return 'path' in r;
}

/** reference.WithTag, checking the tag syntax. */
export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw new InvalidParameterError('invalid tag format');
  return { ...ref, tag };
}

/** reference.TagNameOnly: a bare name gets `:latest`. */
export function tagNameOnly(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** The repository without tag or digest. */
export function trimNamed(ref: Reference): Reference {
  return { domain: ref.domain, path: ref.path };
}

export function refName(ref: Reference): string {
  return ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
}

/** The normalised string form (`docker.io/library/busybox:latest`). */
export function refString(ref: Reference): string {
  return refName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return refName(ref);
  if (ref.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** The familiar string form (`busybox:latest`), as dockerd prints references. */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/**
 * httputils.RepoTagReference: the `repo` (which may carry `:tag`) and `tag`
 * query values of import/tag/commit. Null when repo is empty.
 */
export function repoTagReference(repo: string | undefined, tag: string | undefined): Reference | null {
  if (!repo) return null;
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw new InvalidParameterError('cannot import digest reference');
  if (tag) return withTag(ref, tag);
  return tagNameOnly(ref);
}

/**
 * The pull reference of `POST /images/create?fromImage=&tag=`: a trailing
 * `:` (from `pull -a`) is dropped, `tag` may be a digest, `scratch` is
 * reserved (403, as dockerd's validateRepoName).
 */
export function pullReference(image: string, tag: string | undefined): Reference {
  let ref = parseNormalizedNamed(image.replace(/:$/, ''));
  if (tag) {
    ref = digestError(tag) === null ? { ...trimNamed(ref), digest: tag } : withTag(ref, tag);
  }
  if (familiarName(ref) === 'scratch') throw new ForbiddenError("'scratch' is a reserved name");
  return tagNameOnly(ref);
}
