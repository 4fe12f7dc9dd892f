import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { RwLock } from './rw-lock.js';

/**
 * What the writer and the readers of one log file share inside berthd: the
 * rotation lock, a change counter readers wait on (dockerd's logReadState
 * wait list), and whether a writer is open. Keyed by absolute path, so a
 * `docker logs -f` finds the running container's writer without knowing it.
 */
export class LogFileHub extends EventEmitter {
  readonly lock = new RwLock();
  /** Bumped on every flushed write and rotation. */
  seq = 0;
  /** Bumped whenever a writer closes: a follow that started before it ends. */
  closes = 0;
  writers = 0;
  users = 0;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  changed(): void {
    this.seq++;
    this.emit('change');
  }

  writerClosed(): void {
    this.writers--;
    this.closes++;
    this.emit('change');
  }

  /** Resolves at the next change after `seenSeq` (at once if it already happened), after `ms`, or on abort. */
  waitForChange(seenSeq: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.seq !== seenSeq || signal?.aborted) return Promise.resolve();
    return new Promise((done) => {
      const finish = () => {
        clearTimeout(timer);
        this.off('change', finish);
        signal?.removeEventListener('abort', finish);
        done();
      };
      const timer = setTimeout(finish, ms);
      this.on('change', finish);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }
}

const hubs = new Map<string, LogFileHub>();

/** The hub of `path` if a writer or reader holds one, without taking it. */
export function peekHub(path: string): LogFileHub | undefined {
  return hubs.get(resolve(path));
}

/** The hub of `path`; pair every call with releaseHub. */
export function acquireHub(path: string): LogFileHub {
  const key = resolve(path);
  let hub = hubs.get(key);
  if (!hub) hubs.set(key, (hub = new LogFileHub()));
  hub.users++;
  return hub;
}

export function releaseHub(path: string): void {
  const key = resolve(path);
  const hub = hubs.get(key);
  if (hub && --hub.users === 0) hubs.delete(key);
}
