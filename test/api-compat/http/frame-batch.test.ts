import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameBatch } from '../../../api-compat/http/frame-batch.js';
import { frame, FrameDecoder, StdStream } from '../../../api-compat/http/stdcopy.js';

describe('FrameBatch', () => {
  it('encodes the same bytes as one frame() per payload, without a TTY', () => {
    const b = new FrameBatch(false, 16);
    b.add(StdStream.Stdout, '', Buffer.from('hello'), true);
    b.add(StdStream.Stderr, '2026-01-01T00:00:00.000000001Z ', Buffer.from('oops'), false);
    b.add(StdStream.Stdout, 'é=ü ', Buffer.from([0xff, 0x00]), true);
    b.add(StdStream.Stdout, '', Buffer.alloc(0), false);
    const want = Buffer.concat([
      frame(StdStream.Stdout, 'hello\n'),
      frame(StdStream.Stderr, '2026-01-01T00:00:00.000000001Z oops'),
      frame(StdStream.Stdout, Buffer.concat([Buffer.from('é=ü '), Buffer.from([0xff, 0x00, 0x0a])])),
      frame(StdStream.Stdout, Buffer.alloc(0)),
    ]);
    assert.equal(b.size, want.length);
    assert.deepEqual(b.take(), want);
    assert.equal(b.size, 0);
  });

  it('writes the bytes as they are with a TTY', () => {
    const b = new FrameBatch(true, 4);
    b.add(StdStream.Stdout, 'p ', Buffer.from('a'), true);
    b.add(StdStream.Stderr, '', Buffer.from('b'), false);
    assert.equal(b.take().toString(), 'p a\nb');
  });

  it('grows past its initial size and keeps every byte across big and small takes', () => {
    const b = new FrameBatch(false, 1024);
    const lines: string[] = [];
    let taken: Buffer[] = [];
    for (let i = 0; i < 5000; i++) {
      const line = `line ${i} ${'x'.repeat(i % 97)}`;
      lines.push(line);
      b.add(i % 3 ? StdStream.Stdout : StdStream.Stderr, '', Buffer.from(line), true);
      // Takes of both kinds: big ones hand the buffer over, small ones copy out of it.
      if (i % 1000 === 999 || i % 1000 === 7) taken.push(b.take());
    }
    taken.push(b.take());
    const frames = new FrameDecoder().push(Buffer.concat(taken));
    assert.equal(frames.length, 5000);
    frames.forEach((f, i) => {
      assert.equal(f.stream, i % 3 ? StdStream.Stdout : StdStream.Stderr);
      assert.equal(f.payload.toString(), `${lines[i]}\n`);
    });
    taken = [];
  });
});
