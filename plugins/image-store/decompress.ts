import { spawn } from 'node:child_process';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError } from '../../kernel/index.js';

/**
 * compression.DecompressStream: sniffs the first bytes of an archive and
 * inflates gzip natively; bzip2, xz and zstd go through the host's
 * `bzip2`/`xz`/`zstd` commands (dockerd shells out for xz too). Anything
 * else is passed through as an uncompressed tar. Corrupt compressed data
 * fails the stream with an InvalidParameterError, so the API answers 400.
 */
const MAGIC: Array<[string, number[], string[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08], []],
  ['bzip2', [0x42, 0x5a, 0x68], ['bzip2', '-dc']],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], ['xz', '-dc', '-q']],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd], ['zstd', '-dcq']],
];

export function detectCompression(head: Buffer): string {
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return 'none';
}

/** Returns the uncompressed stream of `input`. */
export async function decompressStream(input: Readable): Promise<Readable> {
  const head = await peek(input, 6);
  const kind = detectCompression(head);
  const source = new PassThrough();
  if (head.length > 0) source.write(head);
  input.pipe(source);
  input.on('error', (err) => source.destroy(err));
  source.on('error', () => { /* the consumer hears it through its own listener or `errored` */ });
  if (kind === 'none') return source;
  const out = new PassThrough();
  out.on('error', () => { /* as above */ });
  const fail = (err: Error) => {
    if (!out.destroyed) out.destroy(err instanceof InvalidParameterError ? err : new InvalidParameterError(`invalid ${kind} data: ${err.message}`));
  };
  if (kind === 'gzip') {
    const gunzip = createGunzip();
    gunzip.on('error', fail);
    source.on('error', fail);
    source.pipe(gunzip).pipe(out);
    out.once('close', () => { source.destroy(); gunzip.destroy(); });
    return out;
  }
  const [, , cmd] = MAGIC.find(([n]) => n === kind)!;
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(new InvalidParameterError(err.code === 'ENOENT'
      ? `cannot decompress ${kind} data: the ${cmd[0]} command is not installed`
      : `cannot decompress ${kind} data: ${err.message}`));
  });
  child.stdin.on('error', () => { /* the child exited early; its exit status tells why */ });
  source.on('error', fail);
  source.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.once('close', (code) => {
    if (code === 0) out.end();
    else fail(new InvalidParameterError(`invalid ${kind} data: ${stderr.trim() || `${cmd[0]} exited with ${code}`}`));
  });
  out.once('close', () => { source.destroy(); if (child.exitCode === null) child.kill(); });
  return out;
}

/** Reads at least n bytes (fewer at the end) from a paused stream; the caller re-emits them. */
async function peek(input: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  for (;;) {
    let chunk: Buffer | null;
    while (len < n && (chunk = input.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      len += chunk.length;
    }
    if (len >= n || input.readableEnded) break;
    const ended = await new Promise<boolean>((resolve, reject) => {
      const cleanup = () => {
        input.off('readable', onReadable);
        input.off('end', onEnd);
        input.off('error', onError);
      };
      const onReadable = () => { cleanup(); resolve(false); };
      const onEnd = () => { cleanup(); resolve(true); };
      const onError = (err: Error) => { cleanup(); reject(err); };
      input.once('readable', onReadable);
      input.once('end', onEnd);
      input.once('error', onError);
    });
    if (ended) break;
  }
  return Buffer.concat(chunks);
}
