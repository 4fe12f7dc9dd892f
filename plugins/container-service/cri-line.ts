import { parseRfc3339Nano, splitCriLine, splitLines } from '../../lib/cri-log.js';

/**
 * One line of an exec driver's output spool in the CRI (k8s-file) format:
 * `<RFC3339Nano time> <stdout|stderr> <F|P> <bytes>`. The container service
 * reads spools itself (the exec driver only names the file), to feed the log
 * driver and attached clients from one reader.
 */
export interface CriLine {
  stream: 'stdout' | 'stderr';
  /** The bytes without a newline: a view into `line`, copy it to keep it past the caller's buffer. */
  bytes: Buffer;
  /** `P`: a chunk of a longer line; the process wrote no newline after it (yet). */
  partial: boolean;
  /** When the monitor read it, in Unix nanoseconds. */
  timeNano: bigint;
}

export function parseCriLine(line: Buffer): CriLine | undefined {
  const f = splitCriLine(line);
  if (!f) return undefined;
  const timeNano = cachedTime(f.timeText);
  if (timeNano === undefined) return undefined;
  return { stream: f.stream, partial: f.partial, bytes: f.body, timeNano };
}

// Lines read together carry the same stamp: parse each distinct one once.
let lastTimeText = '';
let lastTimeNano: bigint | undefined;
function cachedTime(text: string): bigint | undefined {
  if (text !== lastTimeText) {
    lastTimeText = text;
    lastTimeNano = parseRfc3339Nano(text);
  }
  return lastTimeNano;
}

export { parseRfc3339Nano, splitLines };
