/**
 * The registry client (dockerd's distribution service and registry
 * service): pulls images from registries into the image store, pushes
 * them back, checks credentials for `docker login` and inspects remote
 * manifests. One provider; it reads `registry-mirrors`,
 * `insecure-registries` and `max-concurrent-downloads`/`-uploads`, which
 * reload on SIGHUP.
 *
 * References are passed as the API received them (`busybox`,
 * `localhost:5000/x:1`, `x@sha256:…`); the provider normalises them.
 * Errors carry dockerd's wording and kind (a missing repository is a
 * NotFoundError "pull access denied for x, …", bad credentials an
 * UnauthorizedError); while nothing has been written to `out`, the API
 * still answers them with a status code, as dockerd's write-flusher does.
 */
export interface Distribution {
  pull(ref: string, opts: PullOptions): Promise<void>;
  push(ref: string, opts: PushOptions): Promise<void>;
  /** `POST /auth`: checks the credentials against the registry; returns dockerd's AuthenticateOKBody. */
  login(auth: RegistryAuth): Promise<{ Status: string; IdentityToken: string }>;
  /** `GET /distribution/{name}/json`. */
  inspect(ref: string, auth: RegistryAuth): Promise<DistributionInspect>;
}

/** dockerd's registry.AuthConfig, as the `X-Registry-Auth` header and `POST /auth` carry it. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64 "user:password" (the CLI's config file form). */
  auth?: string;
  email?: string;
  serveraddress?: string;
  /** A refresh token the registry's token server gave at login. */
  identitytoken?: string;
  /** A bearer token to send as is. */
  registrytoken?: string;
}

/** One progress message (jsonmessage): a status line, optionally per id, with byte progress. */
export interface ProgressEvent {
  id?: string;
  status: string;
  current?: number;
  total?: number;
  /** dockerd's progress.Message (no progressDetail) rather than progress.Update. */
  message?: boolean;
  /** `aux` payload (push result: Tag, Digest, Size). */
  aux?: unknown;
}

export interface ProgressSink {
  (event: ProgressEvent): void;
}

export interface PullOptions {
  auth: RegistryAuth;
  /** `os[/arch[/variant]]`; the host's when absent. */
  platform?: string;
  /** `docker pull -a`: every tag of the repository. */
  allTags?: boolean;
  out: ProgressSink;
  signal?: AbortSignal;
}

export interface PushOptions {
  auth: RegistryAuth;
  /** The `tag` query value; empty with a tagless name means every tag (`--all-tags`). */
  tag?: string;
  out: ProgressSink;
  signal?: AbortSignal;
}

export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number; urls?: string[] };
  Platforms: Array<{ architecture: string; os: string; 'os.version'?: string; 'os.features'?: string[]; variant?: string }>;
}
