import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_LINE_PARTIAL, type LogEntry, type LogLineBatch } from '../../../kernel/index.js';
import { lineEntry } from '../../../lib/log-line-batch.js';
import { FrameBatch } from '../../../api-compat/http/frame-batch.js';
import { StdStream } from '../../../api-compat/http/stdcopy.js';
import { BlockDecoder, type LineGate } from '../../../plugins/log-json-file/block-decoder.js';
import { jsonLinePacker } from '../../../plugins/log-json-file/json-pack-wasm.js';
import { marshalEntry } from '../../../plugins/log-json-file/json-log-line.js';
import type { LineBlock } from '../../../plugins/log-json-file/log-sources.js';

const T0 = BigInt(Date.parse('2026-01-02T03:04:05Z')) * 1_000_000n;

/** A deterministic generator (xorshift), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

const TEXTS = [
  () => 'x'.repeat(99),
  () => 'hello world',
  () => '',
  () => 'a "quoted" \\ back\tslash',
  () => 'ünïcödé ✓ 😀',
  () => '<html>&amp;</html>',
  () => 'ctrl\u0001\u001fend',
  () => 'y'.repeat(15),
  () => 'z'.repeat(16),
  () => 'w'.repeat(17),
  () => 'long '.repeat(400),
];

/** A json-file log of `n` random lines: runs of one time, both streams, partials, attrs, escapes, junk and hand-laid records. */
function randomLog(seed: number, n: number): Buffer {
  const r = rng(seed);
  const parts: Buffer[] = [];
  let t = T0;
  for (let i = 0; i < n; i++) {
    if (r() < 0.05) t += BigInt(Math.floor(r() * 3e9)); // a new read: a new time
    if (r() < 0.002) t -= 1_000_000_000n; // time going back (not monotonic)
    const kind = r();
    if (kind < 0.01) { parts.push(Buffer.from('not json at all\n')); continue; }
    if (kind < 0.02) { parts.push(Buffer.from(`{"stream":"stdout","log":"reordered ${i}\\n","time":"2026-01-02T03:04:05.5Z"}\n`)); continue; }
    if (kind < 0.025) { parts.push(Buffer.from('{"log":"bad time\\n","stream":"stdout","time":"yesterday"}\n')); continue; }
    if (kind < 0.03) { parts.push(Buffer.concat([Buffer.from('{"log":"raw '), Buffer.from([0xff, 0xfe]), Buffer.from(' bytes\\n","stream":"stderr","time":"2026-01-02T03:04:06Z"}\n')])); continue; }
    const text = TEXTS[Math.floor(r() * TEXTS.length)]!();
    const e: LogEntry = { stream: r() < 0.3 ? 'stderr' : 'stdout', line: Buffer.from(text), time: new Date(0), timeNano: t, partial: r() < 0.1 };
    parts.push(marshalEntry(e, r() < 0.05 ? '{"tag":"web","env":"a=b"}' : undefined));
  }
  if (seed % 2 === 0) parts.push(Buffer.from('{"log":"torn li')); // a final line without its newline
  return Buffer.concat(parts);
}

/** The whole log as one block of lines, as LineScanner gives it (`final`: the torn end is a line too). */
function blockOf(data: Buffer): LineBlock {
  const starts: number[] = [];
  const ends: number[] = [];
  let from = 0;
  for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a, from)) {
    starts.push(from);
    ends.push(nl);
    from = nl + 1;
  }
  if (from < data.length) { starts.push(from); ends.push(data.length); }
  return { data: Buffer.from(data), count: starts.length, start: Uint32Array.from(starts), end: Uint32Array.from(ends) };
}

/** since/until as the reader's Forwarder applies them. */
function gate(since?: bigint, until?: bigint): LineGate {
  return {
    check(t) {
      if (since !== undefined) {
        if (t < since) return 'skip';
        since = undefined;
      }
      return until !== undefined && t > until ? 'stop' : 'emit';
    },
  };
}

interface Seen { stream: string; line: string; partial: boolean; time: bigint; attrs?: Record<string, string> }

function decodeAll(dec: BlockDecoder, log: Buffer, g: LineGate): { lines: Seen[]; batches: LogLineBatch[]; stop: boolean; last?: bigint } {
  const seen: { last?: bigint } = {};
  const { batches, stop } = dec.decode(blockOf(log), g, seen);
  const lines: Seen[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      const e = lineEntry(b, i, true);
      lines.push({ stream: e.stream, line: e.line.toString('latin1'), partial: e.partial === true, time: e.timeNano!, ...(e.attrs ? { attrs: e.attrs } : {}) });
    }
  }
  return { lines, batches, stop, last: seen.last };
}

const packer = jsonLinePacker();

describe('json-file block decoding', () => {
  it('has the WebAssembly packer on this host (else the packed path goes untested)', () => {
    assert.ok(packer, 'WebAssembly SIMD is not available');
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`packs the same lines, times and attrs as the JavaScript path (seed ${seed})`, () => {
      const log = randomLog(seed, 3000);
      const variants: Array<[string, () => LineGate]> = [
        ['all', () => gate()],
        ['since', () => gate(T0 + 20_000_000_000n)],
        ['until', () => gate(undefined, T0 + 60_000_000_000n)],
        ['since and until', () => gate(T0 + 10_000_000_000n, T0 + 40_000_000_000n)],
      ];
      for (const [name, g] of variants) {
        // Counted: most lines must come through the WebAssembly runs, not the JavaScript path between them.
        const pack = packer!.pack;
        let runLines = 0;
        packer!.pack = function (...args) { const k = pack.apply(this, args); runLines += k; return k; };
        let packed: ReturnType<typeof decodeAll>;
        try {
          packed = decodeAll(new BlockDecoder(packer), log, g());
        } finally {
          packer!.pack = pack;
        }
        assert.ok(runLines > packed.lines.length / 3, `${name}: only ${runLines} of ${packed.lines.length} lines came through the packer's runs`);
        const plain = decodeAll(new BlockDecoder(null), log, g());
        assert.ok(plain.lines.length > 0, `${name}: no lines at all`);
        assert.deepEqual(packed.lines, plain.lines, `${name}: lines differ`);
        assert.equal(packed.stop, plain.stop, `${name}: stop differs`);
        assert.equal(packed.last, plain.last, `${name}: last time seen differs`);
        assert.ok(packed.batches.some((b) => b.framed === true && b.count > 100), `${name}: nothing came packed`);
      }
    });
  }

  it('lays framed lines back to back, each after its stdcopy header, a full one followed by its newline', () => {
    const { batches } = decodeAll(new BlockDecoder(packer), randomLog(11, 2000), gate());
    let checked = 0;
    for (const b of batches.filter((x) => x.framed === true)) {
      for (let i = 0; i < b.count; i++) {
        const full = (b.flags[i]! & LOG_LINE_PARTIAL) === 0;
        if (full) assert.equal(b.data[b.end[i]!], 0x0a);
        const header = b.data.subarray(b.start[i]! - 8, b.start[i]!);
        assert.deepEqual([...header.subarray(0, 4)], [(b.flags[i]! & 1) !== 0 ? 2 : 1, 0, 0, 0]);
        assert.equal(header.readUInt32BE(4), b.end[i]! - b.start[i]! + (full ? 1 : 0));
        if (i + 1 < b.count) assert.equal(b.start[i + 1], b.end[i]! + (full ? 1 : 0) + 8);
        checked++;
      }
    }
    assert.ok(checked > 1000);
  });

  it('frames a packed batch as dockerd frames each line (FrameBatch.addFramed against addRange)', () => {
    const { batches } = decodeAll(new BlockDecoder(packer), randomLog(12, 2000), gate());
    const whole = new FrameBatch(false);
    const each = new FrameBatch(false);
    const lines = (into: FrameBatch, b: LogLineBatch) => {
      for (let i = 0; i < b.count; i++) {
        into.addRange((b.flags[i]! & 1) !== 0 ? StdStream.Stderr : StdStream.Stdout, '', b.data, b.start[i]!, b.end[i]!, (b.flags[i]! & LOG_LINE_PARTIAL) === 0);
      }
    };
    let packedLines = 0;
    for (const b of batches) {
      lines(each, b);
      if (whole.takesFramed(b)) { whole.addFramed(b); packedLines += b.count; } else lines(whole, b);
    }
    assert.ok(packedLines > 1000);
    assert.ok(each.size > 100_000);
    assert.deepEqual(whole.take(), each.take());
  });

  it('keeps a batch it handed out intact while another reader decodes (the packer is shared)', () => {
    const a = decodeAll(new BlockDecoder(packer), randomLog(13, 500), gate());
    decodeAll(new BlockDecoder(packer), randomLog(14, 500), gate());
    const again = a.batches.flatMap((b) => Array.from({ length: b.count }, (_, i) => lineEntry(b, i, false).line.toString('latin1')));
    assert.deepEqual(again, a.lines.map((l) => l.line));
  });
});
