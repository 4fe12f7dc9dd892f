import { readFileSync } from 'node:fs';
import { ConflictError, NotImplementedError, type PortBinding } from '../../kernel/index.js';
import { listenTcp, listenUdp, reservePort, type Proxy } from './port-proxy.js';

/**
 * Host ports for published container ports, as dockerd's portallocator and
 * docker-proxy: a fixed port (or the first free one of a `-p 8000-8010:80`
 * range), else an ephemeral one from the kernel's local port range. A port
 * counts as allocated exactly while its proxy holds the socket, so two
 * daemons (or any other program) can never be handed the same port.
 * `0.0.0.0`/`::` both get a proxy when the host address is not given.
 */
export interface BoundPort {
  binding: PortBinding;
  proxy: Proxy;
}

export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch { /* not Linux: dockerd's defaults */ }
  return [49153, 65535];
}

export async function bindPort(req: PortBinding, target: { host: string }, opts: { proxy: boolean } = { proxy: true }): Promise<BoundPort[]> {
  const addrs = req.hostIp ? [req.hostIp] : ['0.0.0.0', '::'];
  const candidates = candidatePorts(req);
  let lastErr: unknown;
  for (const port of candidates) {
    const bound: BoundPort[] = [];
    try {
      for (const [i, addr] of addrs.entries()) {
        const proxy = await listen(req.proto, addr, port, { host: target.host, port: req.containerPort }, opts.proxy).catch((err: NodeJS.ErrnoException) => {
          // IPv6 may be off on the host: the IPv4 binding alone is what dockerd keeps then.
          if (i > 0 && !req.hostIp && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) return undefined;
          throw err;
        });
        if (proxy) bound.push({ binding: { ...req, hostIp: addr, hostPort: port, hostPortEnd: port }, proxy });
      }
      return bound;
    } catch (err) {
      lastErr = err;
      await Promise.all(bound.map((b) => b.proxy.close()));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  const shown = `${req.hostIp || '0.0.0.0'}:${req.hostPort || ''}`;
  if (req.hostPort && candidates.length === 1) throw new ConflictError(`Bind for ${shown} failed: port is already allocated`);
  throw new ConflictError(`Bind for ${shown} failed: ${(lastErr as Error | undefined)?.message ?? 'no free port in the range'}`);
}

function listen(proto: string, host: string, port: number, target: { host: string; port: number }, proxy: boolean): Promise<Proxy> {
  if ((proto === 'udp' || proto === 'tcp') && !proxy) return reservePort(proto, host, port);
  if (proto === 'udp') return listenUdp(host, port, target);
  if (proto === 'tcp') return listenTcp(host, port, target);
  if (proto === 'sctp') throw sctpUnsupported(host, port);
  throw new ConflictError(`publishing ${proto} ports is not supported`);
}

/**
 * SCTP: docker-proxy holds an SCTP socket on the host port, which Node
 * cannot open; and a kernel built without SCTP (no `SCTP` in
 * /proc/net/protocols) cannot carry it at all, where dockerd's proxy fails
 * with the socket error below. Either way the start fails, never silently.
 */
function sctpUnsupported(host: string, port: number): Error {
  let kernel = false;
  try {
    kernel = /^SCTP\s/m.test(readFileSync('/proc/net/protocols', 'utf8'));
  } catch { /* not Linux */ }
  const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return kernel
    ? new NotImplementedError(`Error starting userland proxy: listen sctp ${shown}: SCTP port publishing is not supported by berthd`)
    : new NotImplementedError(`Error starting userland proxy: listen sctp ${shown}: socket: protocol not supported`);
}

function candidatePorts(req: PortBinding): number[] {
  if (req.hostPort) {
    const end = req.hostPortEnd && req.hostPortEnd > req.hostPort ? req.hostPortEnd : req.hostPort;
    return Array.from({ length: end - req.hostPort + 1 }, (_, i) => req.hostPort + i);
  }
  const [lo, hi] = ephemeralRange();
  // Start at a random point so concurrent daemons rarely race for the same port; all are tried.
  const span = hi - lo + 1;
  const start = Math.floor(Math.random() * span);
  return Array.from({ length: Math.min(span, 200) }, (_, i) => lo + ((start + i) % span));
}
