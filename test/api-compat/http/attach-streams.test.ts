import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { socketStreams } from '../../../api-compat/http/attach-streams.js';
import { FrameDecoder, StdStream } from '../../../api-compat/http/stdcopy.js';

/** A connected pair of unix sockets: what socketStreams writes on one side, read on the other. */
async function socketPair(): Promise<{ a: Socket; b: Socket; done(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-attach-streams-'));
  const path = join(dir, 's.sock');
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const a = connect(path);
  const [b] = (await accepted) as [Socket];
  return { a, b, done: async () => { a.destroy(); b.destroy(); server.close(); await rm(dir, { recursive: true, force: true }); } };
}

describe('attach output streams', () => {
  it('frames small and big payloads of both streams, in the order written, with the payload bytes the caller handed over', async () => {
    const { a, b, done } = await socketPair();
    try {
      const s = socketStreams(b, false, { stdin: false });
      const chunks: Buffer[] = [];
      a.on('data', (c: Buffer) => chunks.push(c));
      const payloads: Array<[StdStream, Buffer]> = [];
      for (let i = 0; i < 40; i++) {
        const size = i % 3 === 0 ? 300 * 1024 + i : i % 3 === 1 ? 17 : 20 * 1024; // around the joined/side-by-side limit
        const p = Buffer.alloc(size, 0x61 + (i % 26));
        const stream = i % 4 === 3 ? StdStream.Stderr : StdStream.Stdout;
        payloads.push([stream, Buffer.from(p)]);
        const sink = stream === StdStream.Stderr ? s.stderr! : s.stdout!;
        if (!sink.write(p)) await once(sink, 'drain');
      }
      const total = payloads.reduce((n, [, p]) => n + 8 + p.length, 0);
      while (chunks.reduce((n, c) => n + c.length, 0) < total) await once(a, 'data');
      const frames = new FrameDecoder().push(Buffer.concat(chunks));
      assert.equal(frames.length, payloads.length);
      frames.forEach((f, i) => {
        assert.equal(f.stream, payloads[i]![0], `frame ${i} stream`);
        assert.ok(f.payload.equals(payloads[i]![1]), `frame ${i} payload`);
      });
    } finally {
      await done();
    }
  });

  it('writes a TTY\'s output raw, big chunks included', async () => {
    const { a, b, done } = await socketPair();
    try {
      const s = socketStreams(b, true, { stdin: false });
      assert.equal(s.stderr, undefined);
      const chunks: Buffer[] = [];
      a.on('data', (c: Buffer) => chunks.push(c));
      const want = Buffer.concat([Buffer.alloc(200 * 1024, 0x62), Buffer.from('tail\r\n')]);
      s.stdout!.write(want.subarray(0, 200 * 1024));
      s.stdout!.write(want.subarray(200 * 1024));
      while (chunks.reduce((n, c) => n + c.length, 0) < want.length) await once(a, 'data');
      assert.ok(Buffer.concat(chunks).equals(want));
    } finally {
      await done();
    }
  });
});
