import { Transform, type TransformCallback } from 'node:stream';
import { InvalidParameterError } from '../../kernel/index.js';

/** dockerd's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL = ['ctrl-@', ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `ctrl-${c}`), 'ctrl-[', 'ctrl-\\', 'ctrl-]', 'ctrl-^', 'ctrl-_'];

/** moby's term.ToBytes: `ctrl-<x>` names, `DEL`, or single characters, comma separated. */
export function parseDetachKeys(keys: string): number[] {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const ctrl = CTRL.indexOf(key);
    if (ctrl >= 0) codes.push(ctrl);
    else if (key === 'DEL') codes.push(127);
    else throw new InvalidParameterError(`Invalid detach keys (${keys}) provided`);
  }
  return codes;
}

/**
 * Passes stdin through and watches for the detach sequence (moby's escape
 * proxy): bytes that might start the sequence are held back, and sent on
 * if the sequence breaks off; the complete sequence is swallowed and emits
 * `detach`. Nothing passes after it, and the stream is not ended: an EOF
 * would close the process's stdin, which a detach must not do.
 */
export class DetachKeyFilter extends Transform {
  private matched = 0;
  private detached = false;

  constructor(private readonly keys: number[]) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.detached || this.keys.length === 0) {
      if (!this.detached) this.push(chunk);
      return cb();
    }
    const out: number[] = [];
    for (const b of chunk) {
      if (this.detached) break;
      if (b === this.keys[this.matched]) {
        if (++this.matched === this.keys.length) this.detached = true;
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
        if (b === this.keys[0]) {
          this.matched = this.keys.length === 1 ? 0 : 1;
          if (this.keys.length === 1) this.detached = true;
          continue;
        }
      }
      out.push(b);
    }
    if (out.length) this.push(Buffer.from(out));
    if (this.detached) this.emit('detach');
    cb();
  }
}
