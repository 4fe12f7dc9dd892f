import { EventEmitter } from 'eventemitter3';
import { toDisposable, type Disposable } from '../disposable.js';
import type { Logger } from '../log.js';
import type { KernelTopics } from './topics.js';

export type Listener<T> = (payload: T) => void;

/**
 * The typed kernel event bus on eventemitter3.
 *
 * eventemitter3's emit is synchronous and stops at the first listener that
 * throws; here every listener is wrapped so a failing one is logged and the
 * others still receive the event. `on()` returns a Disposable so a plugin's
 * teardown can remove its listeners in one go.
 */
export class EventBus<Topics extends object = KernelTopics> {
  private readonly emitter = new EventEmitter();

  constructor(private readonly log: Logger) {}

  on<K extends keyof Topics & string>(topic: K, listener: Listener<Topics[K]>): Disposable {
    const safe = (payload: Topics[K]) => {
      try {
        listener(payload);
      } catch (err) {
        this.log.error('event listener failed', { topic, error: err });
      }
    };
    this.emitter.on(topic, safe);
    return toDisposable(() => this.emitter.off(topic, safe));
  }

  once<K extends keyof Topics & string>(topic: K, listener: Listener<Topics[K]>): Disposable {
    const d = this.on(topic, (p) => { d.dispose(); listener(p); });
    return d;
  }

  emit<K extends keyof Topics & string>(topic: K, payload: Topics[K]): void {
    this.emitter.emit(topic, payload);
  }

  listenerCount(topic: keyof Topics & string): number {
    return this.emitter.listenerCount(topic);
  }
}
