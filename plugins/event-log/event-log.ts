import type { DockerEvent, Disposable, EventBus, EventLog } from '../../kernel/index.js';

/**
 * A ring buffer of the most recent Docker events, fed from the bus, so that
 * `docker events --since` can replay the past. dockerd keeps 256.
 */
export class RingEventLog implements EventLog {
  private readonly buffer: DockerEvent[] = [];
  private readonly subscription: Disposable;

  constructor(events: EventBus, private readonly capacity = 256) {
    this.subscription = events.on('docker.event', (e) => this.record(e));
  }

  record(e: DockerEvent): void {
    this.buffer.push(e);
    if (this.buffer.length > this.capacity) this.buffer.splice(0, this.buffer.length - this.capacity);
  }

  history(sinceNano = 0, untilNano = Number.POSITIVE_INFINITY): DockerEvent[] {
    return this.buffer.filter((e) => e.timeNano >= sinceNano && e.timeNano <= untilNano);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
