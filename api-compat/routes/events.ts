import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, type DockerEvent, type EventLog } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { Filters } from '../http/filters.js';
import { queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { startStream, writeJsonLine } from '../http/streaming.js';
import { parseTimestamp } from '../http/timestamps.js';

const ACCEPTED_FILTERS = ['container', 'daemon', 'event', 'image', 'label', 'network', 'type', 'volume', 'plugin', 'node', 'service', 'secret', 'config', 'scope'];

/** `GET /events`: past events from the event log (`since`), then live ones from the bus until `until`. */
export function eventRoutes(router: Router, deps: ApiDeps): void {
  defineRoute(router, deps, 'get', '/events', 'system.events', async (ctx, api) => {
    const filters = Filters.parse(queryString(ctx.query.filters)).validate(ACCEPTED_FILTERS);
    const sinceRaw = queryString(ctx.query.since);
    const untilRaw = queryString(ctx.query.until);
    const since = sinceRaw ? parseTimestamp(sinceRaw) : undefined;
    const until = untilRaw ? parseTimestamp(untilRaw) : undefined;
    if (since !== undefined && until !== undefined && until < since) {
      throw new InvalidParameterError(`\`since\` time (${sinceRaw}) cannot be after \`until\` time (${untilRaw})`);
    }
    const log = deps.host.tryCurrent<EventLog>(ExtensionPoint.EventLog);

    const headers = api.headers({ 'Content-Type': 'application/json' });
    const { out, signal } = startStream(ctx, headers['Content-Type']!);
    const send = (e: DockerEvent) => {
      if (!matches(filters, e)) return;
      const shaped = api.adapt(structuredClone(e)); // an adapter returns undefined to hide an event
      if (shaped !== undefined) writeJsonLine(out, shaped);
    };

    // Subscribe before replaying so nothing falls between the two.
    const live: DockerEvent[] = [];
    let replaying = true;
    const sub = deps.events.on('docker.event', (e) => {
      if (until !== undefined && BigInt(e.timeNano) > until) return;
      if (replaying) live.push(e); else send(e);
    });
    deps.eventListeners.count++;
    const finish = () => {
      sub.dispose();
      deps.eventListeners.count--;
      clearTimeout(timer);
      out.end();
    };
    let timer: NodeJS.Timeout | undefined;

    if (since !== undefined && log) {
      for (const e of log.history(Number(since), until === undefined ? undefined : Number(until))) send(e);
    }
    replaying = false;
    for (const e of live) send(e);

    if (until !== undefined) {
      const waitMs = Number((until - BigInt(Date.now()) * 1_000_000n) / 1_000_000n);
      if (waitMs <= 0) { finish(); return; }
      timer = setTimeout(finish, waitMs);
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}

/** dockerd's events filter (daemon/events/filter.go): every present filter must match. */
export function matches(f: Filters, e: DockerEvent): boolean {
  const attrs = e.Actor.Attributes;
  const action = e.Action;
  const actionBase = action.includes(':') ? action.slice(0, action.indexOf(':')) : action;
  return (
    (f.matches('event', action) || f.matches('event', actionBase)) &&
    f.matches('type', e.Type) &&
    f.matches('scope', e.scope) &&
    fuzzy(f, 'daemon', e.Actor.ID, attrs.name, e.Type === 'daemon') &&
    fuzzy(f, 'container', e.Actor.ID, attrs.name, e.Type === 'container') &&
    fuzzy(f, 'plugin', e.Actor.ID, attrs.name, e.Type === 'plugin') &&
    fuzzy(f, 'volume', e.Actor.ID, attrs.name, e.Type === 'volume') &&
    fuzzy(f, 'network', e.Actor.ID, attrs.name, e.Type === 'network') &&
    fuzzy(f, 'node', e.Actor.ID, attrs.name, e.Type === 'node') &&
    fuzzy(f, 'service', e.Actor.ID, attrs.name, e.Type === 'service') &&
    fuzzy(f, 'secret', e.Actor.ID, attrs.name, e.Type === 'secret') &&
    fuzzy(f, 'config', e.Actor.ID, attrs.name, e.Type === 'config') &&
    matchImage(f, e) &&
    f.matchesLabels(attrs)
  );
}

/** A filter value matches an id by prefix or a name exactly (FuzzyMatch); other event types never match it. */
function fuzzy(f: Filters, key: string, id: string, name: string | undefined, ofType: boolean): boolean {
  if (!f.has(key)) return true;
  if (!ofType) return false;
  return f.get(key).some((v) => id.startsWith(v) || v === name);
}

function matchImage(f: Filters, e: DockerEvent): boolean {
  if (!f.has('image')) return true;
  const candidates = e.Type === 'image' ? [e.Actor.ID, e.Actor.Attributes.name] : [e.Actor.Attributes.image];
  const norm = (s: string) => s.replace(/:latest$/, '');
  return f.get('image').some((v) => candidates.some((c) => c !== undefined && (c === v || norm(c) === norm(v) || c.startsWith(v))));
}
