import type { EventBus } from '../events/bus.js';

/** A handle on an instance for long-lived use (a running task, an open stream). */
export interface Lease<T> {
  readonly instance: T;
  release(): void;
}

/** One activated instance as a slot holds it. */
export interface Activation<T> {
  pluginId: string;
  name: string;
  instance: T;
  /** Stops and disposes the instance and its scope; called once the leases are gone. */
  retire(reason: string): Promise<void>;
}

interface Held<T> {
  activation: Activation<T>;
  leases: number;
  drained?: () => void;
}

/**
 * Holds the active instance of one provider position and lets it be replaced
 * while the daemon runs. `current()` is for short calls; `acquire()` hands out
 * a lease that keeps the instance alive across a swap until released.
 */
export class Slot<T> {
  private held: Held<T>;

  constructor(initial: Activation<T>, private readonly point: string, private readonly events: EventBus) {
    this.held = { activation: initial, leases: 0 };
  }

  current(): T {
    return this.held.activation.instance;
  }

  get activation(): Activation<T> {
    return this.held.activation;
  }

  acquire(): Lease<T> {
    const h = this.held;
    h.leases++;
    let released = false;
    return {
      instance: h.activation.instance,
      release: () => {
        if (released) return; // releasing twice is harmless
        released = true;
        h.leases--;
        if (h.leases === 0) h.drained?.();
      },
    };
  }

  /**
   * Flips to `next` at once; the previous instance is retired when its leases
   * reach zero or after `drainTimeoutMs` (never, for Infinity). Resolves when the old one is retired.
   */
  async swap(next: Activation<T>, drainTimeoutMs = 30_000): Promise<void> {
    const prev = this.held;
    const move = { point: this.point, from: prev.activation.pluginId, to: next.pluginId };
    this.events.emit('plugin.swapping', move);
    this.held = { activation: next, leases: 0 };
    if (prev.leases > 0) {
      await new Promise<void>((resolve) => {
        // setTimeout would turn Infinity into 1 ms: an unbounded drain has no timer at all.
        const timer = Number.isFinite(drainTimeoutMs) ? setTimeout(resolve, drainTimeoutMs) : undefined;
        timer?.unref();
        prev.drained = () => { clearTimeout(timer); resolve(); };
      });
    }
    await prev.activation.retire('swapped');
    this.events.emit('plugin.swapped', move);
  }
}
