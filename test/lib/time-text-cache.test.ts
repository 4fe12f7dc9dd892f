import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeTextCache } from '../../lib/time-text-cache.js';
import { CriTimeCache, parseRfc3339Nano } from '../../lib/cri-log.js';

/** A cache whose parser counts its calls. */
function counting(): { cache: TimeTextCache; calls: string[] } {
  const calls: string[] = [];
  const cache = new TimeTextCache((text) => {
    calls.push(text);
    return parseRfc3339Nano(text);
  });
  return { cache, calls };
}

describe('lib TimeTextCache (the parse of a repeating timestamp prefix)', () => {
  it('parses a text once while it repeats, again when it changes; generation moves with the value', () => {
    const { cache, calls } = counting();
    const buf = Buffer.from('xx2024-01-02T03:04:05.123456789Z 2024-01-02T03:04:05.123456789Z 2024-01-02T03:04:06Z');
    const a = cache.parse(buf, 2, 32);
    assert.equal(a, 1704164645123456789n);
    assert.equal(cache.nano, a);
    const g = cache.generation;
    assert.equal(cache.parse(buf, 33, 63), a, 'same bytes elsewhere in the buffer');
    assert.equal(cache.generation, g);
    assert.equal(cache.parse(Buffer.from(buf.subarray(2, 32)), 0, 30), a, 'same bytes in another buffer');
    assert.equal(calls.length, 1);
    assert.equal(cache.parse(buf, 64, 84), 1704164646000000000n);
    assert.equal(cache.generation, g + 1);
    assert.equal(calls.length, 2);
  });

  it('a text of the same length but other bytes is parsed; a refused text gives undefined', () => {
    const { cache, calls } = counting();
    assert.equal(cache.parse(Buffer.from('2024-01-02T03:04:05Z'), 0, 20), 1704164645000000000n);
    assert.equal(cache.parse(Buffer.from('2024-01-02T03:04:07Z'), 0, 20), 1704164647000000000n);
    assert.equal(cache.parse(Buffer.from('not-a-time-at-all-xx'), 0, 20), undefined);
    assert.equal(cache.nano, undefined);
    assert.equal(calls.length, 3);
  });

  it('a text longer than its buffer is parsed every time (not cached, never mistaken)', () => {
    const { cache, calls } = counting();
    const long = Buffer.from(`2024-01-02T03:04:05Z${' '.repeat(70)}`);
    assert.equal(cache.parse(long, 0, long.length), undefined);
    assert.equal(cache.parse(long, 0, long.length), undefined);
    assert.equal(calls.length, 2);
  });

  it('forget(): a new generation, and the next text is parsed afresh even when it is the same', () => {
    const { cache, calls } = counting();
    const t = Buffer.from('2024-01-02T03:04:05Z');
    cache.parse(t, 0, t.length);
    const g = cache.generation;
    cache.forget();
    assert.equal(cache.generation, g + 1);
    assert.equal(cache.parse(t, 0, t.length), 1704164645000000000n);
    assert.equal(calls.length, 2);
    assert.equal(cache.generation, g + 2);
  });

  it('CriTimeCache is one, with the CRI (RFC 3339 nano) parser', () => {
    const c = new CriTimeCache();
    assert.ok(c instanceof TimeTextCache);
    assert.equal(c.parse(Buffer.from('2024-01-02T03:04:05.5+01:00'), 0, 27), 1704161045500000000n);
  });
});
