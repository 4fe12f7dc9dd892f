import { Transform } from 'node:stream';
import type { ProgressSink } from '../../kernel/index.js';

/**
 * progress.NewProgressReader: an update every 512 KiB (or every 1 % of a
 * smaller total), at most one per 100 ms (the first one at once), and
 * always the final count.
 */
const UPDATE_EVERY = 512 * 1024;
const MIN_INTERVAL_MS = 100;

export function progressMeter(out: ProgressSink, id: string, action: string, total: number, start = 0): Transform {
  let current = start;
  let lastBytes = start;
  let lastSent = -1;
  let lastTime = 0;
  const every = total > 0 ? Math.min(UPDATE_EVERY, Math.floor(total * 0.01)) : UPDATE_EVERY;
  const send = () => {
    lastSent = current;
    out({ id, status: action, current, total });
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      current += chunk.length;
      if (current - lastBytes > every) {
        lastBytes = current;
        const now = Date.now();
        if (current === total || now - lastTime >= MIN_INTERVAL_MS) {
          lastTime = now;
          send();
        }
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (lastSent !== current) send();
      cb();
    },
  });
}
