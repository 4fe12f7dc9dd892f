import { ExtensionPoint, InvalidParameterError, type ContainerService } from '../../kernel/index.js';
import { AdapterChain } from '../http/adapters.js';
import type { ApiDeps } from '../http/api-context.js';
import { socketStreams } from '../http/attach-streams.js';
import type { HijackedConnection, HijackRouter } from '../http/hijack.js';
import { queryBool } from '../http/query.js';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../http/stdcopy.js';

/**
 * The hijacked endpoints: `POST /containers/{id}/attach` and
 * `POST /exec/{id}/start`. Errors found before the stream starts are
 * answered as ordinary HTTP responses (the router does that); then the
 * connection switches protocols, stdin is the raw socket, output is raw
 * (TTY) or stdcopy frames, and we close the connection once the container
 * service says the attach or exec is over (output written, exit code recorded).
 */
export function hijackedRoutes(router: HijackRouter, deps: ApiDeps): void {
  const svc = () => deps.host.current<ContainerService>(ExtensionPoint.ContainerService);
  /** The stream's Content-Type as the request's API version labels it (multiplexed-stream from 1.42). */
  const contentType = (route: string, version: string, tty: boolean) =>
    AdapterChain.for(deps.host, version).headers(route, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM })['Content-Type'] ?? RAW_STREAM;

  router.add({
    method: 'POST',
    path: /^\/containers\/(?<id>[^/]+)\/attach$/,
    route: 'containers.attach',
    async handle({ conn, params, query, version }) {
      const bool = (k: string) => queryBool(query.get(k) ?? undefined);
      const req = { stdin: bool('stdin'), stdout: bool('stdout'), stderr: bool('stderr'), logs: bool('logs'), stream: bool('stream'), detachKeys: query.get('detachKeys') ?? undefined };
      // A request body (dockerode sends its options as JSON) is not stdin: dockerd drops it when it hijacks.
      await conn.readBody();
      await svc().attach(params.id!, req, ({ tty }) => {
        conn.upgrade(contentType('containers.attach', version, tty));
        return socketStreams(conn.socket, tty, { stdin: req.stdin });
      });
      closeWhenFlushed(conn);
    },
  });

  router.add({
    method: 'POST',
    path: /^\/exec\/(?<id>[^/]+)\/start$/,
    route: 'exec.start',
    async handle({ conn, params, version }) {
      const body = parseBody((await conn.readBody()).toString('utf8'));
      if (body.Detach) {
        await svc().startExec(params.id!, { detach: true }, () => ({}));
        conn.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      await svc().startExec(params.id!, { detach: false, tty: body.Tty, consoleSize: body.ConsoleSize }, ({ tty }) => {
        conn.upgrade(contentType('exec.start', version, tty));
        return socketStreams(conn.socket, tty, { stdin: true });
      });
      closeWhenFlushed(conn);
    },
  });
}

export interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

export function parseBody(text: string): ExecStartBody {
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as ExecStartBody) : {};
  } catch (err) {
    throw new InvalidParameterError(`invalid JSON: ${(err as Error).message}`);
  }
}

/** Ends our side after everything queued is written; the client may have half-closed long ago (pitfall 2). */
function closeWhenFlushed(conn: HijackedConnection): void {
  if (!conn.isUpgraded) return;
  conn.close();
}
