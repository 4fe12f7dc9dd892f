import type { WaitCondition } from '../../kernel/index.js';

export interface WaitStatus {
  exitCode: number;
  /** The container's State.Error, when set. */
  error?: string;
}

interface Waiter {
  condition: WaitCondition;
  resolve(s: WaitStatus): void;
}

/**
 * Pending `docker wait`s per container, with dockerd's wake-up rules
 * (container/state.go): a stop (exit, restart, failed restart) wakes the
 * `not-running` and `next-exit` waiters; a removal wakes every waiter. The
 * caller checks whether a condition already holds before adding one.
 */
export class Waiters {
  private readonly byId = new Map<string, Set<Waiter>>();

  add(id: string, condition: WaitCondition): { promise: Promise<WaitStatus>; cancel(): void } {
    let waiter!: Waiter;
    const promise = new Promise<WaitStatus>((resolve) => { waiter = { condition, resolve }; });
    let set = this.byId.get(id);
    if (!set) this.byId.set(id, (set = new Set()));
    set.add(waiter);
    return { promise, cancel: () => this.drop(id, waiter) };
  }

  stopped(id: string, status: WaitStatus): void {
    for (const w of [...(this.byId.get(id) ?? [])]) {
      if (w.condition === 'removed') continue;
      this.drop(id, w);
      w.resolve(status);
    }
  }

  removed(id: string, status: WaitStatus): void {
    for (const w of [...(this.byId.get(id) ?? [])]) w.resolve(status);
    this.byId.delete(id);
  }

  private drop(id: string, w: Waiter): void {
    const set = this.byId.get(id);
    set?.delete(w);
    if (set?.size === 0) this.byId.delete(id);
  }
}
