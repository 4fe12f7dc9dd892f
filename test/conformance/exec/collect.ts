import { Writable } from 'node:stream';

/** A Writable that keeps what it is given; `text()` decodes it, `ended` resolves at end(). */
export class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  readonly ended: Promise<void>;

  constructor() {
    super();
    this.ended = new Promise((resolve) => this.once('finish', () => resolve()));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
