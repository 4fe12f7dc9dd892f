import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, frame, StdStream } from '../../../api-compat/http/stdcopy.js';
import { humanSize, JsonProgressWriter, renderBar } from '../../../api-compat/http/json-progress.js';
import { parseTimestamp } from '../../../api-compat/http/timestamps.js';
import { Filters } from '../../../api-compat/http/filters.js';
import { parseHost } from '../../../api-compat/http/listener.js';
import { queryBool } from '../../../api-compat/http/query.js';
import { compareVersions } from '../../../api-compat/engine-version.js';
import { PassThrough } from 'node:stream';

describe('stdcopy', () => {
  it('frames with the 8-byte header and decodes split input', () => {
    const f = frame(StdStream.Stdout, 'hi\n');
    assert.deepEqual([...f], [1, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]);
    const d = new FrameDecoder();
    const both = Buffer.concat([f, frame(StdStream.Stderr, 'err 10\n')]);
    assert.deepEqual(d.push(both.subarray(0, 5)), []);
    const got = d.push(both.subarray(5));
    assert.deepEqual(got.map((x) => [x.stream, x.payload.toString()]), [[1, 'hi\n'], [2, 'err 10\n']]);
  });
});

describe('JSON progress', () => {
  it('writes one object per message with \\r\\n and keeps error + errorDetail', () => {
    const out = new PassThrough();
    const w = new JsonProgressWriter(out);
    w.status('Pulling fs layer', 'abc');
    w.error('boom', 1);
    const text = out.read().toString();
    assert.equal(text, '{"status":"Pulling fs layer","progressDetail":{},"id":"abc"}\r\n{"errorDetail":{"code":1,"message":"boom"},"error":"boom"}\r\n');
  });

  it('renders sizes and bars like go-units', () => {
    assert.equal(humanSize(32768), '32.77kB');
    assert.equal(humanSize(300291), '300.3kB');
    assert.match(renderBar(32768, 300291), /^\[=====>\s+\]\s+32\.77kB\/300\.3kB$/);
  });
});

describe('timestamps', () => {
  it('parses unix seconds with nanoseconds, RFC 3339 and durations', () => {
    assert.equal(parseTimestamp('1795796878.794378322'), 1795796878794378322n);
    assert.equal(parseTimestamp('100'), 100_000_000_000n);
    assert.equal(parseTimestamp('2026-01-01T00:00:00Z'), BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1_000_000n);
    const now = new Date('2026-01-01T01:00:00Z');
    assert.equal(parseTimestamp('10m', now), BigInt(now.getTime() - 600_000) * 1_000_000n);
    assert.throws(() => parseTimestamp('yesterday'), /failed to parse value as time or duration/);
  });
});

describe('filters', () => {
  it('accepts the map and the legacy list form', () => {
    const a = Filters.parse('{"type":{"container":true},"label":{"a=b":true}}');
    const b = Filters.parse('{"type":["container"],"label":["a=b"]}');
    for (const f of [a, b]) {
      assert.ok(f.matches('type', 'container'));
      assert.ok(!f.matches('type', 'image'));
      assert.ok(f.matchesLabels({ a: 'b' }));
      assert.ok(!f.matchesLabels({ a: 'c' }));
    }
    assert.throws(() => Filters.parse('{"x":1}'), /invalid filter/);
    assert.throws(() => Filters.parse('{nope'), /invalid filter/);
  });
});

describe('query and host parsing', () => {
  it('reads booleans as dockerd', () => {
    for (const f of ['', '0', 'no', 'false', 'none', 'False']) assert.equal(queryBool(f), false, f);
    for (const t of ['1', 'yes', 'true', 'anything']) assert.equal(queryBool(t), true, t);
    assert.equal(queryBool(undefined, true), true);
  });

  it('parses -H addresses', () => {
    assert.deepEqual(parseHost('unix:///run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
    assert.deepEqual(parseHost('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
    assert.deepEqual(parseHost('tcp://0.0.0.0'), { kind: 'tcp', host: '0.0.0.0', port: 2375 });
    assert.throws(() => parseHost('tcp://127.0.0.1:2375/path'), /invalid bind address \(127\.0\.0\.1:2375\/path\): should not contain a path element/);
    assert.throws(() => parseHost('fd://'), /not supported/);
  });

  it('compares API versions numerically', () => {
    assert.equal(compareVersions('1.9', '1.10'), -1);
    assert.equal(compareVersions('1.41', '1.41'), 0);
    assert.equal(compareVersions('1.50', '1.5'), 1);
  });
});
