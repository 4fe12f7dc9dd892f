import { splitCriLine, splitLines } from '../../lib/cri-log.js';

/** One line of a CRI (k8s-file) log as conmon writes it, shaped for attached streams. */
export interface CriRecord {
  /** RFC 3339 with nanoseconds and the host's UTC offset, as written. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** The process's bytes: with the trailing "\n" for a full line, without it for a partial one. */
  data: Buffer;
  partial: boolean;
}

/**
 * Parses `<time> <stream> <F|P> <bytes>` (the line without its final "\n").
 * `F` lines had their newline in the process output; conmon adds the newline
 * after `P` lines itself, so it is not part of the data. Returns undefined for
 * a malformed line.
 */
export function parseCriLine(line: Buffer): CriRecord | undefined {
  const f = splitCriLine(line);
  if (!f) return undefined;
  return {
    time: f.timeText,
    stream: f.stream,
    partial: f.partial,
    data: f.partial ? Buffer.from(f.body) : Buffer.concat([f.body, Buffer.from('\n')]),
  };
}

export { splitLines };
