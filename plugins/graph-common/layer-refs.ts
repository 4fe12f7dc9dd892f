/**
 * How many `get`s of each layer are not yet `put` back, so `remove` can
 * refuse a layer in use. For drivers whose layers are plain directories
 * (vfs, btrfs), this count is all get/put do; callers hold the layer's lock.
 */
export class LayerRefs {
  private readonly counts = new Map<string, number>();

  inUse(id: string): boolean {
    return (this.counts.get(id) ?? 0) > 0;
  }

  take(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** One `put`; a put without a get is ignored, as dockerd's drivers do. */
  drop(id: string): void {
    const n = this.counts.get(id) ?? 0;
    if (n <= 1) this.counts.delete(id);
    else this.counts.set(id, n - 1);
  }

  /** Forgets every reference (dispose: nothing is mounted, references die with the driver). */
  clear(): void {
    this.counts.clear();
  }
}
