import type Router from '@koa/router';
import { ExtensionPoint, InvalidParameterError, LOG_LINE_PARTIAL, LOG_LINE_STDERR, type ContainerService, type LogEntry } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import { queryBool, queryString } from '../http/query.js';
import { defineRoute } from '../http/route.js';
import { FrameBatch } from '../http/frame-batch.js';
import { MULTIPLEXED_STREAM, RAW_STREAM, StdStream } from '../http/stdcopy.js';
import { startStream } from '../http/streaming.js';
import { parseTimestamp } from '../http/timestamps.js';

/**
 * `GET /containers/{id}/logs`: the container's log as dockerd streams it —
 * one stdcopy frame per entry without a TTY, raw bytes with one (pitfall 3);
 * `timestamps` prefixes RFC 3339 with a fixed nine-digit fraction, `details`
 * the log-opt attributes; `follow` keeps the stream open until the
 * container stops or the client goes away.
 */
export function containerLogRoutes(router: Router, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);

  defineRoute(router, deps, 'get', '/containers/:id/logs', 'containers.logs', async (ctx, api) => {
    const q = ctx.query;
    const stdout = queryBool(q.stdout);
    const stderr = queryBool(q.stderr);
    if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
    const since = nonZero(queryString(q.since));
    const until = nonZero(queryString(q.until));
    const tailText = queryString(q.tail) ?? 'all';
    // dockerd: anything that is not a number means all.
    const tail = /^\d+$/.test(tailText) ? Number(tailText) : -1;
    const timestamps = queryBool(q.timestamps);
    const details = queryBool(q.details);
    const abort = new AbortController();
    const { tty, entries, batches } = await svc().logs(ctx.params.id!, {
      since: since === undefined ? undefined : parseTimestamp(since),
      until: until === undefined ? undefined : parseTimestamp(until),
      tail,
      follow: queryBool(q.follow),
      signal: abort.signal,
    });
    const headers = api.headers({ 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM });
    const { out, signal } = startStream(ctx, headers['Content-Type']!);
    signal.addEventListener('abort', () => abort.abort(), { once: true });
    void (async () => {
      // Entries encoded straight into one buffer (frame-batch.ts), sent whenever the reader waits, or every 256 KiB.
      const batch = new FrameBatch(tty, 256 * 1024 + 64 * 1024);
      let scheduled = false;
      const flush = () => {
        scheduled = false;
        if (batch.size === 0) return true;
        return out.write(batch.take());
      };
      /** Sends a full batch now (waiting while the client is behind), a partial one once the reader waits. */
      const sent = async () => {
        if (batch.size >= 256 * 1024) {
          if (!flush()) await new Promise((r) => out.once('drain', r));
        } else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      };
      try {
        if (batches) {
          // Lines straight from the reader's blocks into frames: no entry, Buffer or Date per line.
          // Lines the reader framed already (LogLineBatch.framed) go as they are when nothing is added to or taken from them.
          const whole = stdout && stderr && !timestamps && !details;
          for await (const b of batches) {
            if (signal.aborted) break;
            if (whole && batch.takesFramed(b)) {
              batch.addFramed(b);
              await sent();
              continue;
            }
            let lastTime = -1;
            let stamp = '';
            for (let i = 0; i < b.count; i++) {
              const f = b.flags[i]!;
              const isErr = (f & LOG_LINE_STDERR) !== 0;
              if (isErr ? !stderr : !stdout) continue;
              let prefix = '';
              if (timestamps || details) {
                if (timestamps && b.timeIndex[i] !== lastTime) {
                  lastTime = b.timeIndex[i]!;
                  stamp = `${fixedTime(b.times[lastTime]!)} `;
                }
                prefix = (timestamps ? stamp : '') + (details ? detailsPrefix(b.attrs?.[i]) : '');
              }
              batch.addRange(isErr ? StdStream.Stderr : StdStream.Stdout, prefix, b.data, b.start[i]!, b.end[i]!, (f & LOG_LINE_PARTIAL) === 0);
              if (batch.size >= 256 * 1024) await sent();
            }
            await sent();
          }
        } else {
          for await (const e of entries) {
            if (signal.aborted) break;
            if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue;
            batch.add(e.stream === 'stderr' ? StdStream.Stderr : StdStream.Stdout, linePrefix(e, timestamps, details), e.line, !e.partial);
            await sent();
          }
        }
      } catch (err) {
        deps.log.debug('log stream ended with an error', { error: err });
      } finally {
        flush();
        out.end();
      }
    })();
  });
}

/** What dockerd writes before a line: `<time> ` with timestamps, `<k=v,…> ` with details (the newline is kept unless the entry is partial). */
function linePrefix(e: LogEntry, timestamps: boolean, details: boolean): string {
  if (!timestamps && !details) return '';
  let prefix = '';
  if (timestamps) prefix += `${fixedTime(e.timeNano ?? BigInt(e.time.getTime()) * 1_000_000n)} `;
  if (details) prefix += detailsPrefix(e.attrs);
  return prefix;
}

/** `k=v,…` of the log-opt attributes and a space. */
function detailsPrefix(attrs: Record<string, string> | undefined): string {
  return `${Object.entries(attrs ?? {}).map(([k, v]) => `${k}=${v}`).join(',')} `;
}

/** RFC 3339 with exactly nine fractional digits in UTC (jsonmessage.RFC3339NanoFixed). */
function fixedTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `${new Date(Number(secs) * 1000).toISOString().slice(0, 19)}.${String(frac).padStart(9, '0')}Z`;
}

function nonZero(v: string | undefined): string | undefined {
  return v === undefined || v === '' || v === '0' ? undefined : v;
}
