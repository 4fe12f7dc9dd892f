/**
 * The last timestamp text seen and its value in Unix nanoseconds. Log lines
 * come in runs that carry the same time text (the lines one read of a
 * process's pipe produced), so the text is compared as bytes with the
 * previous one and parsed only when it differs. Used by the CRI spool
 * scanner (lib/cri-log.ts) and the json-file reader
 * (plugins/log-json-file/json-batch-decode.ts), each with its own parser.
 */
export class TimeTextCache {
  private text = Buffer.alloc(64);
  private len = -1;
  /** The value of the last text parsed (undefined when the parser refused it). */
  nano: bigint | undefined;
  /** Bumped whenever `nano` may have changed: callers compare this number, not the BigInt (a runtime call per line). */
  generation = 0;

  constructor(private readonly parseText: (text: string) => bigint | undefined) {}

  /** Sets and returns `nano`: the time of `buf[start, end)` (latin1 text). */
  parse(buf: Buffer, start: number, end: number): bigint | undefined {
    const n = end - start;
    if (n === this.len) {
      const t = this.text;
      let i = 0;
      while (i < n && t[i] === buf[start + i]) i++;
      if (i === n) return this.nano;
    }
    this.nano = this.parseText(buf.toString('latin1', start, end));
    this.generation++;
    if (n <= this.text.length) {
      buf.copy(this.text, 0, start, end);
      this.len = n;
    } else {
      this.len = -1;
    }
    return this.nano;
  }

  /** A time came from elsewhere: callers see a new generation, and the next text is parsed afresh. */
  forget(): void {
    this.generation++;
    this.len = -1;
  }
}
