/**
 * A readers–writer lock for one log file (loggerutils' fsopMu): readers open
 * the current and rotated files together while no rotation runs, and a
 * rotation's renames wait for those opens to finish. Waiters are served in
 * arrival order, so a stream of readers cannot starve a rotation.
 */
export class RwLock {
  private readers = 0;
  private writing = false;
  private readonly waiters: Array<{ write: boolean; go: () => void }> = [];

  async read<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writing || this.waiters.length > 0) await new Promise<void>((go) => this.waiters.push({ write: false, go }));
    else this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      this.pump();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    if (this.writing || this.readers > 0 || this.waiters.length > 0) await new Promise<void>((go) => this.waiters.push({ write: true, go }));
    else this.writing = true;
    try {
      return await fn();
    } finally {
      this.writing = false;
      this.pump();
    }
  }

  /** Grants the lock to the next waiters: one writer, or every reader up to the next writer. */
  private pump(): void {
    while (this.waiters.length > 0 && !this.writing) {
      const next = this.waiters[0]!;
      if (next.write) {
        if (this.readers > 0) return;
        this.waiters.shift();
        this.writing = true;
        next.go();
        return;
      }
      this.waiters.shift();
      this.readers++;
      next.go();
    }
  }
}
