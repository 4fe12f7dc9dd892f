import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import type { LogEntry } from '../../../kernel/index.js';

// Lines read together share a time stamp: the encoder reuses the fields after `log` for them.
// Each entry of a run that changes one thing at a time must still carry its own fields.
describe('json-file lines in runs that share a time stamp', () => {
  const T = 1_795_000_000_123_456_789n;
  const time = new Date(Number(T / 1_000_000n));
  const entries: Array<[LogEntry, string | undefined]> = [
    [{ stream: 'stdout', line: Buffer.from('a'), time, timeNano: T }, undefined],
    [{ stream: 'stdout', line: Buffer.from('b'), time, timeNano: T }, undefined],
    [{ stream: 'stderr', line: Buffer.from('c'), time, timeNano: T }, undefined],
    [{ stream: 'stderr', line: Buffer.from('d'), time, timeNano: T }, '{"tag":"wëb"}'],
    [{ stream: 'stderr', line: Buffer.from(''), time, timeNano: T, partial: true }, '{"tag":"wëb"}'],
    [{ stream: 'stderr', line: Buffer.from('e'), time, timeNano: T }, '{"tag":"wëb"}'],
    [{ stream: 'stderr', line: Buffer.from('f'), time, timeNano: T + 1n }, '{"tag":"wëb"}'],
    [{ stream: 'stderr', line: Buffer.from('g'), time: new Date(5000) }, undefined],
    [{ stream: 'stderr', line: Buffer.from('h'), time: new Date(6000) }, undefined],
    [{ stream: 'stdout', line: Buffer.from('i'), time, timeNano: T }, undefined],
  ];
  const stamp = (e: LogEntry) => (e.timeNano === T ? '2026-11-18T11:06:40.123456789Z' : e.timeNano === T + 1n ? '2026-11-18T11:06:40.12345679Z' : new Date(e.time).toISOString().replace('.000Z', 'Z'));

  it('writes each entry exactly as on its own', () => {
    for (const [e, attrs] of entries) {
      const text = marshalEntry(e, attrs).toString('utf8');
      const hasLog = e.line.length > 0 || !e.partial;
      const want = `{${hasLog ? `"log":${JSON.stringify(e.partial ? e.line.toString() : `${e.line}\n`)},` : ''}"stream":"${e.stream}"${attrs ? `,"attrs":${attrs}` : ''},"time":"${stamp(e)}"}\n`;
      assert.equal(text, want);
      const back = decodeEntry(Buffer.from(text.slice(0, -1)))!;
      assert.equal(back.stream, e.stream);
      assert.equal(back.line.toString(), e.line.toString());
      assert.deepEqual(back.attrs, attrs ? JSON.parse(attrs) : undefined);
    }
  });

  it('decodes plain lines field by field, and hands anything else to JSON.parse', () => {
    const ok = decodeEntry(Buffer.from('{"log":"hi\\n","stream":"stderr","attrs":{"a":"b"},"time":"2026-11-18T11:06:40.5Z"}'))!;
    assert.deepEqual({ ...ok, line: ok.line.toString() }, { stream: 'stderr', line: 'hi', time: new Date(Date.parse('2026-11-18T11:06:40.500Z')), timeNano: 1_795_000_000_500_000_000n, attrs: { a: 'b' } });
    // Field order other than this writer's: not the fast path, still decoded.
    const reordered = decodeEntry(Buffer.from('{"log":"hi\\n","time":"2026-11-18T11:06:40.5Z","stream":"stdout"}'))!;
    assert.equal(reordered.stream, 'stdout');
    assert.equal(reordered.line.toString(), 'hi');
    assert.equal(decodeEntry(Buffer.from('{"log":"hi\\n","stream":"stdin","time":"2026-11-18T11:06:40.5Z"}'))!.stream, 'stdout');
    assert.equal(decodeEntry(Buffer.from('{"log":"hi\\n","stream":"stdout","time":"2026-11-18T11:06:40.5Z"')), undefined);
  });
});
