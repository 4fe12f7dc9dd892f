/**
 * One queue per key: operations on the same container run one after the
 * other (dockerd holds the container's lock for a transition), operations on
 * different containers run in parallel. Waiting for an exit happens outside
 * the lock, so the exit handler can take it.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
