import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type { Logger } from '../../kernel/index.js';
import { buildAnswer, CLASS_IN, parseQuery, RCODE_NOERROR, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from './dns-message.js';
import { bindInNamespace } from './dns-listener.js';

const FORWARD_TIMEOUT_MS = 2000;

/**
 * libnetwork's embedded resolver: answers A queries for the names of
 * containers on the asking container's user-defined networks (container
 * name, aliases, short ID, hostname, and `name.network`), an empty answer
 * to AAAA for those names (the networks are IPv4-only), and forwards every
 * other query unchanged to the host's resolvers from the host's namespace
 * (so a resolver on the host's loopback works, as dockerd's does).
 */
export class EmbeddedDns {
  private readonly servers = new Map<string, { udp: dgram.Socket; tcp: net.Server; conns: Set<net.Socket>; ext: string[] }>();

  constructor(
    private readonly log: Logger,
    private readonly lookup: (sandboxId: string, name: string) => string[] | undefined,
    private readonly upstream: () => string[] = hostNameservers,
    /** Port of the upstream servers (53; tests use a loopback server elsewhere). */
    private readonly upstreamPort = 53,
  ) {}

  /** `ext`: the container's own `--dns` servers, used instead of the host's. */
  async open(sandboxId: string, key: string, ext: string[] = []): Promise<void> {
    if (this.servers.has(sandboxId)) return;
    const { udp, tcp } = await bindInNamespace(key);
    const conns = new Set<net.Socket>();
    this.servers.set(sandboxId, { udp, tcp, conns, ext });
    udp.on('error', (err) => this.log.debug('embedded DNS socket error', { error: err }));
    udp.on('message', (msg, rinfo) => {
      void this.answer(sandboxId, msg).then((reply) => { if (reply) udp.send(reply, rinfo.port, rinfo.address); });
    });
    tcp.on('connection', (sock) => {
      conns.add(sock);
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          void this.answer(sandboxId, Buffer.from(msg)).then((reply) => {
            if (!reply) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(reply.length);
            sock.write(Buffer.concat([len, reply]));
          });
        }
      });
      sock.on('error', () => sock.destroy());
      sock.on('close', () => conns.delete(sock));
    });
  }

  async close(sandboxId: string): Promise<void> {
    const s = this.servers.get(sandboxId);
    if (!s) return;
    this.servers.delete(sandboxId);
    for (const c of s.conns) c.destroy();
    await new Promise<void>((r) => s.udp.close(() => r()));
    await new Promise<void>((r) => s.tcp.close(() => r()));
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.servers.keys()]) await this.close(id);
  }

  /** The reply to one query (undefined: drop it, as a malformed query gets no answer). */
  async answer(sandboxId: string, msg: Buffer): Promise<Buffer | undefined> {
    const q = parseQuery(msg);
    if (!q) return undefined;
    if (q.question.cls === CLASS_IN && (q.question.type === TYPE_A || q.question.type === TYPE_AAAA)) {
      const ips = this.lookup(sandboxId, q.question.name);
      if (ips) return buildAnswer(q, RCODE_NOERROR, q.question.type === TYPE_A ? ips : []);
    }
    const ext = this.servers.get(sandboxId)?.ext;
    for (const server of ext?.length ? ext : this.upstream()) {
      const reply = await forward(msg, server, this.upstreamPort).catch(() => undefined);
      if (reply) return reply;
    }
    return buildAnswer(q, RCODE_SERVFAIL);
  }
}

function forward(msg: Buffer, server: string, port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error('timeout')); }, FORWARD_TIMEOUT_MS);
    sock.on('error', (err) => { clearTimeout(timer); sock.close(); reject(err); });
    sock.on('message', (reply) => {
      if (reply.length < 2 || reply.readUInt16BE(0) !== msg.readUInt16BE(0)) return;
      clearTimeout(timer);
      sock.close();
      resolve(reply);
    });
    sock.send(msg, port, server);
  });
}

/** The host's nameservers (systemd-resolved's stub included: berthd forwards from the host's namespace). */
export function hostNameservers(): string[] {
  try {
    return [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
  } catch {
    return [];
  }
}
