import { spawn } from 'node:child_process';
import type dgram from 'node:dgram';
import type net from 'node:net';

/**
 * Sockets bound to 127.0.0.11:53 inside a sandbox's network namespace, for
 * the embedded DNS server that runs in berthd itself.
 *
 * Node cannot enter another namespace (no setns), but a socket belongs to
 * the namespace it was created in, wherever it is used afterwards. So a
 * throw-away Node process is started with `nsenter --net=<sandbox>`, binds
 * the UDP socket and the TCP listener there, and hands both to berthd over
 * the IPC channel (Node passes dgram and net.Server handles as SCM_RIGHTS
 * file descriptors), then exits. The server is thus reachable only from
 * inside the container's namespace — no DNAT, no listener on a host
 * address, no long-lived helper to clean up after a crash: when berthd
 * dies, so do the sockets.
 */
const HELPER = `
const dgram = require('node:dgram'), net = require('node:net');
const fail = (e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); };
process.on('disconnect', () => process.exit(1)); // berthd went away: never linger holding the namespace
const u = dgram.createSocket('udp4');
u.on('error', fail);
u.bind(53, '127.0.0.11', () => {
  const s = net.createServer();
  s.on('error', fail);
  s.listen({ port: 53, host: '127.0.0.11' }, () => {
    // Once both handles are sent (the callbacks), the fds live on in berthd: this process is done.
    process.send('udp', u, () => process.send('tcp', s, () => process.exit(0)));
  });
});`;

export function bindInNamespace(key: string): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${key}`, process.execPath, '-e', HELPER], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let err = '';
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    child.stderr!.on('data', (d) => { err += d; });
    child.on('message', (msg, handle) => {
      if (msg === 'udp') udp = handle as unknown as dgram.Socket;
      if (msg === 'tcp') tcp = handle as unknown as net.Server;
      if (udp && tcp) resolve({ udp, tcp });
    });
    child.on('error', reject);
    // A helper that hangs must not hang the container's start; nor outlive it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', () => clearTimeout(timer));
    child.on('exit', (code) => {
      if (!(udp && tcp)) {
        udp?.close();
        tcp?.close();
        reject(new Error(`cannot bind the embedded DNS in ${key}: ${err.trim() || `exit status ${code}`}`));
      }
    });
  });
}
