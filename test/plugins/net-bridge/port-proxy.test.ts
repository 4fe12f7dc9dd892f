import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { bindPort } from '../../../plugins/net-bridge/port-allocator.js';

describe('userland proxy and port allocation', () => {
  it('carries TCP to the target, holds the host port, frees it when closed', async () => {
    const target = net.createServer((s) => s.end('hello'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const tport = (target.address() as net.AddressInfo).port;
    const [bound] = await bindPort({ proto: 'tcp', containerPort: tport, hostIp: '127.0.0.1', hostPort: 0 }, { host: '127.0.0.1' });
    const hostPort = bound!.binding.hostPort;
    assert.ok(hostPort > 0);
    const got = await new Promise<string>((resolve, reject) => {
      let s = '';
      net.connect(hostPort, '127.0.0.1').on('data', (d) => { s += d; }).on('end', () => resolve(s)).on('error', reject);
    });
    assert.equal(got, 'hello');
    await assert.rejects(bindPort({ proto: 'tcp', containerPort: tport, hostIp: '127.0.0.1', hostPort }, { host: '127.0.0.1' }), /port is already allocated/);
    await bound!.proxy.close();
    const again = await bindPort({ proto: 'tcp', containerPort: tport, hostIp: '127.0.0.1', hostPort }, { host: '127.0.0.1' });
    await again[0]!.proxy.close();
    target.close();
  });

  it('carries UDP both ways', async () => {
    const target = dgram.createSocket('udp4');
    target.on('message', (m, r) => target.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => target.bind(0, '127.0.0.1', () => r()));
    const tport = target.address().port;
    const [bound] = await bindPort({ proto: 'udp', containerPort: tport, hostIp: '127.0.0.1', hostPort: 0 }, { host: '127.0.0.1' });
    const client = dgram.createSocket('udp4');
    const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
    client.send('ping', bound!.binding.hostPort, '127.0.0.1');
    assert.equal(await reply, 'echo:ping');
    client.close();
    await bound!.proxy.close();
    target.close();
  });

  it('takes the first free port of a host range', async () => {
    const first = await bindPort({ proto: 'tcp', containerPort: 1, hostIp: '127.0.0.1', hostPort: 0 }, { host: '127.0.0.1' });
    const p = first[0]!.binding.hostPort;
    const next = await bindPort({ proto: 'tcp', containerPort: 1, hostIp: '127.0.0.1', hostPort: p, hostPortEnd: p + 5 }, { host: '127.0.0.1' }).catch(() => undefined);
    if (next) {
      assert.ok(next[0]!.binding.hostPort > p && next[0]!.binding.hostPort <= p + 5);
      await next[0]!.proxy.close();
    }
    await first[0]!.proxy.close();
  });
});
