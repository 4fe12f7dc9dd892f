import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, escapeJsonBytes, marshalAttrs, marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import { formatRfc3339Nano, parseRfc3339Nano } from '../../../plugins/log-json-file/log-time.js';

const T = 1795796814809272298n; // 2026-11-27T…Z with all nine digits significant
const at = (nano: bigint) => ({ time: new Date(Number(nano / 1_000_000n)), timeNano: nano });

describe('json-file line format', () => {
  it('writes dockerd lines: log with its newline, stream, time in RFC 3339 nano', () => {
    const line = marshalEntry({ stream: 'stdout', line: Buffer.from('line 0'), ...at(T) }).toString();
    assert.equal(line, `{"log":"line 0\\n","stream":"stdout","time":"${formatRfc3339Nano(T)}"}\n`);
    assert.match(line, /"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.809272298Z"/);
    const err = marshalEntry({ stream: 'stderr', line: Buffer.from('err 0'), ...at(T) }).toString();
    assert.match(err, /^\{"log":"err 0\\n","stream":"stderr","time":"[^"]+"\}\n$/);
  });

  it('a partial chunk has no newline; an empty partial chunk has no log field', () => {
    assert.match(marshalEntry({ stream: 'stdout', line: Buffer.from('abc'), partial: true, ...at(T) }).toString(), /^\{"log":"abc","stream"/);
    assert.match(marshalEntry({ stream: 'stdout', line: Buffer.alloc(0), partial: true, ...at(T) }).toString(), /^\{"stream":"stdout","time"/);
    assert.match(marshalEntry({ stream: 'stdout', line: Buffer.alloc(0), ...at(T) }).toString(), /^\{"log":"\\n",/);
  });

  it('adds attrs between stream and time', () => {
    const attrs = marshalAttrs({ tag: 'web', app: 'a<b' });
    assert.equal(attrs, '{"app":"a\\u003cb","tag":"web"}');
    assert.equal(marshalAttrs({}), undefined);
    const line = marshalEntry({ stream: 'stdout', line: Buffer.from('x'), ...at(T) }, attrs).toString();
    assert.match(line, /^\{"log":"x\\n","stream":"stdout","attrs":\{"app":"a\\u003cb","tag":"web"\},"time":"/);
  });

  it('escapes as dockerd: short forms for quote, backslash, \\n, \\r; \\u00XX for other controls and HTML; \\ufffd for bad UTF-8', () => {
    const esc = (b: Buffer | string) => escapeJsonBytes(Buffer.isBuffer(b) ? b : Buffer.from(b)).toString();
    assert.equal(esc('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(esc('\t\r\n\x00\x1f'), '"\\u0009\\r\\n\\u0000\\u001f"');
    assert.equal(esc('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    assert.equal(esc('héllo ✓ 🐳'), '"héllo ✓ 🐳"');
    assert.equal(esc('\u2028\u2029'), '"\\u2028\\u2029"');
    assert.equal(esc(Buffer.from([0x61, 0xff, 0x62, 0xc3])), '"a\\ufffdb\\ufffd"');
    assert.equal(esc(Buffer.from([0xed, 0xa0, 0x80])), '"\\ufffd\\ufffd\\ufffd"', 'an encoded surrogate is not UTF-8');
    assert.equal(esc(Buffer.from([0xe0, 0x80, 0xaf])), '"\\ufffd\\ufffd\\ufffd"', 'overlong forms are refused');
    assert.deepEqual(JSON.parse(esc('mixed\t"<ü>"\n')), 'mixed\t"<ü>"\n', 'the result is valid JSON for the same text');
  });

  it('formats time as Go RFC3339Nano: UTC, trailing zeros trimmed', () => {
    const base = BigInt(Date.parse('2026-11-27T16:26:54Z')) * 1_000_000n;
    assert.equal(formatRfc3339Nano(base), '2026-11-27T16:26:54Z');
    assert.equal(formatRfc3339Nano(base + 809272298n), '2026-11-27T16:26:54.809272298Z');
    assert.equal(formatRfc3339Nano(base + 120000000n), '2026-11-27T16:26:54.12Z');
    assert.equal(formatRfc3339Nano(base + 1n), '2026-11-27T16:26:54.000000001Z');
  });

  it('parses RFC 3339 with any fraction and offset', () => {
    const base = BigInt(Date.parse('2026-11-27T16:26:54Z')) * 1_000_000n;
    assert.equal(parseRfc3339Nano('2026-11-27T16:26:54.809272298Z'), base + 809272298n);
    assert.equal(parseRfc3339Nano('2026-11-27T16:26:54.5Z'), base + 500000000n);
    assert.equal(parseRfc3339Nano('2026-11-27T17:26:54+01:00'), base);
    assert.equal(parseRfc3339Nano('2026-11-27T15:56:54.000000001-00:30'), base + 1n);
    assert.equal(parseRfc3339Nano('yesterday'), undefined);
    assert.equal(parseRfc3339Nano(12), undefined);
  });

  it('round-trips every kind of text, through the fast path and through JSON.parse alike', () => {
    const texts = ['plain text', '', 'ends with a backslash \\', 'literal \\n at the end\\n', 'quote at the end"', 'tab\there',
      'üñíçødé ✓ 🐳', 'a<b>&c', '\u2028', 'x'.repeat(70_000)];
    for (const text of texts) {
      for (const partial of [false, true]) {
        for (const attrs of [undefined, '{"tag":"wëb"}']) {
          const e = { stream: 'stderr' as const, line: Buffer.from(text), partial, ...at(T) };
          const encoded = marshalEntry(e, attrs);
          assert.deepEqual(JSON.parse(encoded.toString()).log, partial ? text || undefined : `${text}\n`, 'valid JSON with the same text');
          const back = decodeEntry(encoded.subarray(0, -1));
          if (partial && text === '') {
            assert.equal(back!.line.length, 0);
            continue;
          }
          assert.deepEqual(back, { stream: 'stderr', line: Buffer.from(text), time: e.time, timeNano: T, ...(partial ? { partial } : {}), ...(attrs ? { attrs: { tag: 'wëb' } } : {}) }, JSON.stringify(text));
        }
      }
    }
  });

  it('decodes what it writes, and skips lines that are not records', () => {
    const e = decodeEntry(marshalEntry({ stream: 'stderr', line: Buffer.from('x\ty <z>'), ...at(T) }, '{"k":"v"}').subarray(0, -1))!;
    assert.deepEqual(e, { stream: 'stderr', line: Buffer.from('x\ty <z>'), time: new Date(Number(T / 1_000_000n)), timeNano: T, attrs: { k: 'v' } });
    const p = decodeEntry(Buffer.from('{"log":"part","stream":"stdout","time":"2026-11-27T16:26:54Z"}'))!;
    assert.equal(p.partial, true);
    assert.equal(p.line.toString(), 'part');
    assert.equal(decodeEntry(Buffer.from('{"log":"torn\\n","str')), undefined);
    assert.equal(decodeEntry(Buffer.from('{"log":"no time\\n"}')), undefined);
    assert.equal(decodeEntry(Buffer.from('null')), undefined);
  });
});
