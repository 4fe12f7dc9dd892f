import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { dockerEvent } from '../../../kernel/index.js';
import { startApi } from '../../helpers/api-harness.js';

/** supertest would parse application/json as one document; events are one per line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const asText = (res: any, cb: (err: Error | null, body: string) => void) => {
  let d = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => { d += c; });
  res.on('end', () => cb(null, d));
};

function lines(text: string) {
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('GET /events', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  before(async () => { api = await startApi(); });
  after(async () => { await api.stop(); });

  it('replays past events between since and until, with legacy fields below 1.52', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 1;
    api.kernel.events.emit('docker.event', dockerEvent('container', 'start', 'c0ffee', { name: 'web', image: 'busybox' }));
    api.kernel.events.emit('docker.event', dockerEvent('daemon', 'reload', 'TEST:ENGINE:ID', { name: 'testhost' }));
    const until = (Date.now() / 1000 + 0.05).toFixed(9);
    const res = await api.http().get(`/v1.41/events?since=${t0}&until=${until}`).parse(asText);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    const evs = lines(res.body);
    assert.deepEqual(evs.map((e) => `${e.Type}/${e.Action}`), ['container/start', 'daemon/reload']);
    assert.equal(evs[0].status, 'start');
    assert.equal(evs[0].id, 'c0ffee');
    assert.equal(evs[0].from, 'busybox');
    assert.equal(evs[1].status, undefined, 'daemon events carry no legacy fields');
  });

  it('filters by type and by container name', async () => {
    const t0 = Math.floor(Date.now() / 1000) - 1;
    api.kernel.events.emit('docker.event', dockerEvent('container', 'die', 'aaa111', { name: 'one' }));
    api.kernel.events.emit('docker.event', dockerEvent('container', 'die', 'bbb222', { name: 'two' }));
    const until = (Date.now() / 1000 + 0.05).toFixed(9);
    const q = (f: object) => `/events?since=${t0}&until=${until}&filters=${encodeURIComponent(JSON.stringify(f))}`;
    const byType = lines((await api.http().get(q({ type: { daemon: true } })).parse(asText)).body);
    assert.ok(byType.every((e) => e.Type === 'daemon'));
    const byName = lines((await api.http().get(q({ container: ['two'] })).parse(asText)).body);
    assert.deepEqual(byName.map((e) => e.Actor.ID), ['bbb222']);
  });

  // The route subscribes in the same tick it flushes the headers, so an event emitted once they
  // arrived is live for the stream whatever the machine's load (a fixed delay is not).
  it('streams live events as they happen', async () => {
    let got = '';
    await new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: api.socketPath, path: '/events' }, (res) => {
        assert.equal(res.statusCode, 200);
        api.kernel.events.emit('docker.event', dockerEvent('network', 'create', 'net1', { name: 'n1', type: 'bridge' }));
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          got += c;
          if (got.includes('\n')) { req.destroy(); resolve(); }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(lines(got).map((e) => `${e.Action} ${e.Actor.ID}`), ['create net1']);
  });

  it('a live stream ends at until and leaves out events stamped after it', async () => {
    const untilNs = BigInt(Date.now() + 200) * 1_000_000n;
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath: api.socketPath, path: `/events?until=${untilNs / 1_000_000_000n}.${String(untilNs % 1_000_000_000n).padStart(9, '0')}` }, (res) => {
        const late = dockerEvent('network', 'destroy', 'net1', { name: 'n1', type: 'bridge' });
        late.timeNano = Number(untilNs + 1_000_000n);
        late.time = Number((untilNs + 1_000_000n) / 1_000_000_000n);
        api.kernel.events.emit('docker.event', late);
        let d = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { d += c; });
        res.on('end', () => resolve(d));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, '');
  });

  it('rejects unknown filters and since after until', async () => {
    const bad = await api.http().get(`/events?filters=${encodeURIComponent('{"bogus":{"x":true}}')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, "Invalid filter 'bogus'");
    const order = await api.http().get('/events?since=200&until=100');
    assert.equal(order.status, 400);
    assert.equal(order.body.message, '`since` time (200) cannot be after `until` time (100)');
  });
});
