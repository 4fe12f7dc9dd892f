import { ExtensionPoint, InvalidParameterError, type ContainerService } from '../../kernel/index.js';
import type { ApiDeps } from '../http/api-context.js';
import type { HijackRouter } from '../http/hijack.js';
import { queryBool } from '../http/query.js';
import { compareVersions } from '../engine-version.js';
import { acceptKey, decodeFrames, frameWriter, handshakeProblem, Opcode, encodeFrame } from '../http/websocket.js';

/**
 * `GET /containers/{id}/attach/ws`: attach over a websocket, as dockerd's
 * wsContainersAttach. Errors found before the handshake (unknown container,
 * a request that is not a websocket upgrade) are plain HTTP answers. Streams
 * are never multiplexed: client data frames are stdin, output goes out as
 * binary frames (text frames below API 1.28). stdin/stdout/stderr are read
 * from the query from API 1.42 on; older versions attach all three.
 */
export function attachWsRoutes(router: HijackRouter, deps: ApiDeps): void {
  router.add({
    method: 'GET',
    path: /^\/containers\/(?<id>[^/]+)\/attach\/ws$/,
    route: 'containers.attach.ws',
    async handle({ conn, params, query, version, req }) {
      const problem = handshakeProblem(req.headers, req.method);
      if (problem) throw new InvalidParameterError(problem);
      const bool = (k: string) => queryBool(query.get(k) ?? undefined);
      const all = compareVersions(version, '1.42') < 0;
      const attach = {
        stdin: all || bool('stdin'),
        stdout: all || bool('stdout'),
        stderr: all || bool('stderr'),
        logs: bool('logs'),
        stream: bool('stream'),
        detachKeys: query.get('detachKeys') || undefined,
      };
      const opcode = compareVersions(version, '1.28') >= 0 ? Opcode.Binary : Opcode.Text;
      await deps.host.current<ContainerService>(ExtensionPoint.ContainerService).attach(params.id!, attach, () => {
        conn.switchProtocols([
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}`,
        ]);
        const abort = new AbortController();
        conn.socket.once('close', () => abort.abort());
        conn.socket.once('error', () => abort.abort());
        const stdin = decodeFrames(conn.socket);
        const out = frameWriter(conn.socket, opcode);
        return { stdin: attach.stdin ? stdin : undefined, stdout: out, stderr: out, signal: abort.signal };
      });
      // The attach is over (container stopped, detached, client gone): say goodbye as a websocket does.
      if (conn.isUpgraded && conn.socket.writable) {
        const body = Buffer.alloc(2);
        body.writeUInt16BE(1000);
        conn.socket.end(encodeFrame(Opcode.Close, body));
      }
    },
  });
}
