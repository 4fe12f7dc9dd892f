import dgram from 'node:dgram';
import net from 'node:net';

/**
 * dockerd's userland proxy (docker-proxy), in-process: it holds the host
 * port (so nothing else can take it and the port is freed exactly when the
 * proxy closes) and carries the traffic that DNAT cannot see — connections
 * to 127.0.0.1 from the host, which never pass PREROUTING. TCP is spliced;
 * UDP keeps one upstream socket per client, dropped after 90 s idle as
 * docker-proxy's UDP conntrack timeout.
 */
export interface Proxy {
  close(): Promise<void>;
}

const UDP_IDLE_MS = 90_000;

/**
 * `userland-proxy: false`: the host port is still held (dockerd's dummy
 * proxy), so nothing else can take it, but no traffic is carried: DNAT
 * (from loopback too, in hairpin mode) takes it to the container. A
 * connection that reaches the socket all the same (IPv6) is closed.
 */
export function reservePort(proto: 'tcp' | 'udp', host: string, port: number): Promise<Proxy> {
  return new Promise((resolve, reject) => {
    if (proto === 'udp') {
      const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
      sock.once('error', reject);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.off('error', reject);
        sock.on('error', () => undefined);
        resolve({ close: () => new Promise<void>((r) => sock.close(() => r())) });
      });
      return;
    }
    const server = net.createServer((c) => c.destroy());
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':'), exclusive: true }, () => {
      server.off('error', reject);
      resolve({ close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

export function listenTcp(host: string, port: number, target: { host: string; port: number }): Promise<Proxy> {
  return new Promise((resolve, reject) => {
    const conns = new Set<net.Socket>();
    const server = net.createServer({ pauseOnConnect: true }, (client) => {
      const upstream = net.connect(target.port, target.host);
      conns.add(client);
      conns.add(upstream);
      const done = () => { client.destroy(); upstream.destroy(); conns.delete(client); conns.delete(upstream); };
      client.on('error', done).on('close', done);
      upstream.on('error', done).on('close', done);
      upstream.on('connect', () => { client.pipe(upstream); upstream.pipe(client); client.resume(); });
    });
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':'), exclusive: true }, () => {
      server.off('error', reject);
      resolve({
        close: () => new Promise<void>((r) => { for (const s of conns) s.destroy(); server.close(() => r()); }),
      });
    });
  });
}

export function listenUdp(host: string, port: number, target: { host: string; port: number }): Promise<Proxy> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
    const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout }>();
    const drop = (key: string) => {
      const f = flows.get(key);
      if (!f) return;
      clearTimeout(f.timer);
      f.up.close();
      flows.delete(key);
    };
    sock.on('message', (msg, rinfo) => {
      const key = `${rinfo.address}:${rinfo.port}`;
      let f = flows.get(key);
      if (!f) {
        const up = dgram.createSocket('udp4');
        up.on('message', (reply) => { sock.send(reply, rinfo.port, rinfo.address); const g = flows.get(key); if (g) g.timer.refresh(); });
        up.on('error', () => drop(key));
        f = { up, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
        f.timer.unref();
        flows.set(key, f);
      }
      f.timer.refresh();
      f.up.send(msg, target.port, target.host);
    });
    sock.once('error', reject);
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.off('error', reject);
      sock.on('error', () => undefined);
      resolve({
        close: () => new Promise<void>((r) => { for (const k of [...flows.keys()]) drop(k); sock.close(() => r()); }),
      });
    });
  });
}
