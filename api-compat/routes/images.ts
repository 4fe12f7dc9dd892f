import type Router from '@koa/router';
import {
  ExtensionPoint, InvalidParameterError, NotImplementedError, type ImageStore,
} from '../../kernel/index.js';
import type { ApiContext, ApiDeps } from '../http/api-context.js';
import { Filters } from '../http/filters.js';
import { JsonProgressWriter } from '../http/json-progress.js';
import { queryBool, queryList, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { startStream } from '../http/streaming.js';
import { parseTimestamp } from '../http/timestamps.js';
import { imageCreate } from './image-create.js';
import { imagePush } from './distribution.js';
import { boolFilter, containersPerImage, listImages } from './image-list.js';
import { imageInspect } from './image-shapes.js';

/**
 * The image endpoints (daemon/server/router/image). Image names contain
 * `/`, `:` and `@` (and registry ports), so the routes with a name are
 * regular expressions: a greedy name, then a fixed suffix. Fixed paths
 * (`/images/json`, `/images/get`, `/images/load`, …) are registered first
 * and win.
 */
export function imageRoutes(router: Router, deps: ApiDeps): void {
  const store = () => deps.host.current<ImageStore>(ExtensionPoint.ImageStore);

  defineRoute(router, deps, 'get', '/images/json', 'image.list', async (ctx) => {
    ctx.body = await listImages(store(), {
      all: queryBool(ctx.query.all),
      sharedSize: queryBool(ctx.query['shared-size']),
      filters: Filters.parse(queryString(ctx.query.filters)),
      containers: await containersPerImage(deps.host),
    });
  });

  defineRoute(router, deps, 'get', '/images/search', 'image.search', () => {
    throw new NotImplementedError('searching a registry is not available in Berth yet');
  });

  const save = async (ctx: ApiContext, names: string[]) => {
    const stream = await store().save(names);
    ctx.status = 200;
    ctx.set('Content-Type', 'application/x-tar');
    ctx.req.socket.setTimeout(0);
    ctx.body = stream;
  };
  defineRoute(router, deps, 'get', '/images/get', 'image.save', (ctx) => save(ctx, queryList(ctx.query.names)));
  defineRoute(router, deps, 'get', /^\/images\/(.+)\/get$/, 'image.save', (ctx) => save(ctx, [imageName(ctx)]));

  defineRoute(router, deps, 'get', /^\/images\/(.+)\/history$/, 'image.history', async (ctx) => {
    ctx.body = await store().history(imageName(ctx));
  });

  defineRoute(router, deps, 'get', /^\/images\/(.+)\/json$/, 'image.inspect', async (ctx) => {
    const s = store();
    const info = await s.get(imageName(ctx));
    ctx.body = imageInspect(info, s.driverName, await s.driverData(info.id));
  });

  defineRoute(router, deps, 'post', '/images/load', 'image.load', async (ctx, api) => {
    const quiet = queryBool(ctx.query.quiet, true);
    const headers = api.headers({ 'Content-Type': 'application/json' });
    const { out } = startStream(ctx, headers['Content-Type']!);
    const progress = new JsonProgressWriter(out);
    try {
      await store().load(ctx.req, {
        quiet,
        out: {
          progress: (id, current, total) => progress.progress('Loading layer', id, current, total),
          line: (text) => progress.stream(text),
        },
      });
    } catch (err) {
      ctx.req.resume();
      progress.error((err as Error).message);
    }
    out.end();
  });

  defineRoute(router, deps, 'post', '/images/create', 'image.create', (ctx) => imageCreate(ctx, store(), deps.host));

  defineRoute(router, deps, 'post', '/images/prune', 'image.prune', async (ctx) => {
    const f = Filters.parse(queryString(ctx.query.filters)).validate(['dangling', 'label', 'label!', 'until']);
    const untils = f.get('until');
    if (untils.length > 1) throw new InvalidParameterError('more than one until filter specified');
    ctx.body = await store().prune({
      danglingOnly: boolFilter(f, 'dangling', true),
      until: untils.length === 1 ? parseTimestamp(untils[0]!) : undefined,
      labels: (labels) => f.matchesLabels(labels) && (!f.has('label!') || !f.matchesLabels(labels, 'label!')),
    });
  });

  defineRoute(router, deps, 'post', /^\/images\/(.+)\/push$/, 'image.push', (ctx) => imagePush(ctx, deps.host, imageName(ctx)));

  defineRoute(router, deps, 'post', /^\/images\/(.+)\/tag$/, 'image.tag', async (ctx) => {
    await store().tag(imageName(ctx), queryString(ctx.query.repo) ?? '', queryString(ctx.query.tag) || undefined);
    ctx.status = 201;
    ctx.body = '';
    ctx.remove('Content-Type');
  });

  defineRoute(router, deps, 'delete', /^\/images\/(.+)$/, 'image.delete', async (ctx) => {
    const name = imageName(ctx);
    if (name.trim() === '') throw new InvalidParameterError('image name cannot be blank');
    ctx.body = await store().remove(name, { force: queryBool(ctx.query.force), prune: !queryBool(ctx.query.noprune) });
  });
}

/** The image name captured by a RegExp route, URL-decoded. */
function imageName(ctx: ApiContext): string {
  const raw = (ctx as unknown as { captures?: string[] }).captures?.[0] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
