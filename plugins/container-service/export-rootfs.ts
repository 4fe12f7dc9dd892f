import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-fs';
import type { GraphDriver } from '../../kernel/index.js';

/**
 * `docker export`: the container's merged root filesystem as one tar
 * stream, numeric owners kept. The layer stays mounted (one graph-driver
 * reference) until the stream ends or the client goes away.
 */
export async function exportRootfs(graph: GraphDriver, id: string): Promise<Readable> {
  const root = await graph.get(id);
  const out = new PassThrough();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    void graph.put(id).catch(() => undefined);
  };
  const pack = tar.pack(root, { dereference: false, strict: false } as tar.PackOptions) as unknown as Readable;
  pack.on('error', (err) => out.destroy(err));
  out.on('close', release);
  pack.on('end', release);
  pack.pipe(out);
  return out;
}
