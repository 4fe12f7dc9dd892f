import { definePlugin, ExtensionPoint, type EventLog } from '../../kernel/index.js';
import { RingEventLog } from './event-log.js';

export interface EventLogConfig {
  /** How many past events `GET /events?since=` can replay (dockerd: 256). */
  capacity: number;
}

export default definePlugin<EventLog, EventLogConfig>({
  id: 'event-log',
  point: ExtensionPoint.EventLog,
  name: 'memory',
  swap: 'restart-only', // a new buffer would forget the past events
  defaults: () => ({ capacity: 256 }),
  activate: (ctx) => new RingEventLog(ctx.events, ctx.config.capacity),
});
