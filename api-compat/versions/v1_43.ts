import type { ApiAdapter } from '../../kernel/index.js';

/**
 * API 1.43 (Engine 24.0), from moby's api/docs/CHANGELOG.md: "GET
 * /images/json no longer includes `<none>:<none>` and `<none>@<none>`
 * placeholders for untagged images; RepoTags and RepoDigests are empty
 * lists." Older clients get the placeholders back.
 */
export const v1_43: ApiAdapter = {
  version: '1.43',
  summary: 'untagged images show <none>:<none> in images/json',
  responseRoutes: ['image.list'],
  response(route, body) {
    if (route !== 'image.list' || !Array.isArray(body)) return body;
    for (const img of body as Array<{ RepoTags: string[]; RepoDigests: string[] }>) {
      if (img.RepoTags.length === 0 && img.RepoDigests.length === 0) {
        img.RepoTags = ['<none>:<none>'];
        img.RepoDigests = ['<none>@<none>'];
      }
    }
    return body;
  },
};
