/**
 * A keyed async mutex: work under the same key runs one at a time, in call
 * order; work under different keys runs in parallel. The queue position is
 * taken synchronously when `run` is called, so a caller that decides
 * something and then calls `run` in the same tick cannot be overtaken (the
 * layer store relies on this when it releases a layer and queues its
 * removal; the container service holds a container's key for a transition,
 * as dockerd holds the container's lock).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }

  /** True while work for `key` is queued or running. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
