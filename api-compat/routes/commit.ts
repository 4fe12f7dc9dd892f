import type Router from '@koa/router';
import { ExtensionPoint, type ContainerConfig, type ContainerService } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { readJson } from '../http/body.js';
import { queryBool, queryList, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { ENGINE_VERSION } from '../engine-version.js';

/**
 * `POST /commit` (docker commit): the container from `container`, the new
 * image's name from `repo`/`tag`, `author`, `comment`, repeated `changes`,
 * and an optional Config body (the CLI sends `null`). `pause` defaults to
 * true when absent or empty, as in dockerd since API 1.13. 201 {"Id"}.
 */
export function commitRoutes(router: Router, deps: ApiDeps): void {
  defineRoute(router, deps, 'post', '/commit', 'image.commit', async (ctx) => {
    const q = ctx.query;
    const pauseValue = queryString(q.pause);
    const config = (await readJson<ContainerConfig | null>(ctx)) ?? null;
    const id = await deps.host.current<ContainerService>(ExtensionPoint.ContainerService).commit(queryString(q.container) ?? '', {
      repo: queryString(q.repo) || undefined,
      tag: queryString(q.tag) || undefined,
      author: queryString(q.author) ?? '',
      comment: queryString(q.comment) ?? '',
      changes: queryList(q.changes),
      pause: pauseValue === undefined || pauseValue === '' ? true : queryBool(pauseValue),
      config: config && typeof config === 'object' && !Array.isArray(config) ? config : null,
      dockerVersion: ENGINE_VERSION,
    });
    ctx.status = 201;
    ctx.body = { Id: id };
  });
}
