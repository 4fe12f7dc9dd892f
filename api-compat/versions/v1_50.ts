import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.50 (Engine 28.2), from moby's api/docs/CHANGELOG.md: "GET
 * /images/{name}/json: the `Config` field now uses the OCI image config
 * shape and omits the container-only fields (`Hostname`, `Domainname`,
 * `AttachStdin`, `Tty`, `Image`, …)." Older clients see them again, with
 * their zero values, merged in dockerd's sorted-map order (moby#48457).
 */
const LEGACY_CONFIG: Record<string, unknown> = {
  AttachStderr: false, AttachStdin: false, AttachStdout: false, Cmd: null, Domainname: '', Entrypoint: null, Env: null,
  Hostname: '', Image: '', Labels: null, OnBuild: null, OpenStdin: false, StdinOnce: false, Tty: false, User: '',
  Volumes: null, WorkingDir: '',
};

export const v1_50: ApiAdapter = {
  version: '1.50',
  summary: 'image inspect Config has the container-only fields',
  responseRoutes: ['image.inspect'],
  response(route, body) {
    if (route !== 'image.inspect' || !body || typeof body !== 'object') return body;
    const img = body as { Config?: Record<string, unknown> | null };
    if (!img.Config) return body;
    const merged = { ...LEGACY_CONFIG, ...img.Config };
    img.Config = Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
    return body;
  },
};
