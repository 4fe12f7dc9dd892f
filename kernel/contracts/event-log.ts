import type { DockerEvent } from '../events/topics.js';

/**
 * Keeps the most recent Docker events so `GET /events?since=` can replay them
 * (dockerd keeps the last 256). Live events come from the bus's `docker.event`.
 */
export interface EventLog {
  /** Buffered events with sinceNano <= timeNano <= untilNano, oldest first. */
  history(sinceNano?: number, untilNano?: number): DockerEvent[];
}
