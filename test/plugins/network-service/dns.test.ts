import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnswer, buildQuery, parseAnswerIps, parseQuery, RCODE_NXDOMAIN, TYPE_AAAA } from '../../../plugins/network-service/dns-message.js';
import { EmbeddedDns } from '../../../plugins/network-service/embedded-dns.js';

const log = { debug() {}, info() {}, warn() {}, error() {} } as never;

describe('DNS message codec', () => {
  it('parses a query and answers it with A records', () => {
    const q = parseQuery(buildQuery(0x1234, 'web.mynet'))!;
    assert.equal(q.id, 0x1234);
    assert.deepEqual(q.question, { name: 'web.mynet', type: 1, cls: 1 });
    const a = buildAnswer(q, 0, ['172.18.0.2', '172.18.0.3']);
    assert.equal(a.readUInt16BE(0), 0x1234);
    assert.ok(a.readUInt16BE(2) & 0x8000, 'QR set');
    assert.ok(a.readUInt16BE(2) & 0x0100, 'RD copied');
    assert.deepEqual(parseAnswerIps(a), { rcode: 0, ips: ['172.18.0.2', '172.18.0.3'] });
    assert.deepEqual(parseAnswerIps(buildAnswer(q, RCODE_NXDOMAIN)), { rcode: 3, ips: [] });
  });

  it('rejects what is not a one-question standard query', () => {
    assert.equal(parseQuery(Buffer.alloc(5)), undefined);
    const resp = buildAnswer(parseQuery(buildQuery(1, 'a'))!, 0);
    assert.equal(parseQuery(resp), undefined, 'a response is not a query');
    const truncated = buildQuery(1, 'abc.def').subarray(0, 16);
    assert.equal(parseQuery(truncated), undefined);
  });
});

describe('embedded DNS resolution', () => {
  it('answers known names, AAAA empty, forwards nothing when no upstream is given (SERVFAIL)', async () => {
    const dns = new EmbeddedDns(log, (sb, name) => (sb === 'sb1' && name.toLowerCase() === 'web' ? ['10.1.0.2'] : undefined), () => []);
    const a = await dns.answer('sb1', buildQuery(7, 'WEB'));
    assert.deepEqual(parseAnswerIps(a!), { rcode: 0, ips: ['10.1.0.2'] });
    const aaaa = await dns.answer('sb1', buildQuery(8, 'web', TYPE_AAAA));
    assert.deepEqual(parseAnswerIps(aaaa!), { rcode: 0, ips: [] });
    const other = await dns.answer('sb2', buildQuery(9, 'web'));
    assert.equal(parseAnswerIps(other!).rcode, 2);
    assert.equal(await dns.answer('sb1', Buffer.from('junk')), undefined);
  });

  it('forwards unknown names to an upstream server on loopback and relays its answer', async () => {
    const dgram = await import('node:dgram');
    const upstream = dgram.createSocket('udp4');
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    const port = (upstream.address() as { port: number }).port;
    upstream.on('message', (msg, rinfo) => upstream.send(buildAnswer(parseQuery(msg)!, 0, ['192.0.2.77']), rinfo.port, rinfo.address));
    const dns = new EmbeddedDns(log, () => undefined, () => ['127.0.0.1'], port);
    try {
      const r = await dns.answer('sb', buildQuery(10, 'example.test'));
      assert.deepEqual(parseAnswerIps(r!), { rcode: 0, ips: ['192.0.2.77'] });
    } finally {
      upstream.close();
    }
  });
});
