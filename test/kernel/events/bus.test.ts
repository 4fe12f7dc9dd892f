import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventBus, dockerEvent, type Logger } from '../../../kernel/index.js';

describe('EventBus', () => {
  it('keeps delivering when a listener throws, and logs the failure', () => {
    const errors: string[] = [];
    const log = { error: (m: string) => errors.push(m), warn() {}, info() {}, debug() {}, child() { return log; } } as Logger;
    const bus = new EventBus(log);
    const got: string[] = [];
    bus.on('docker.event', () => { throw new Error('boom'); });
    bus.on('docker.event', (e) => got.push(e.Action));
    bus.emit('docker.event', dockerEvent('daemon', 'reload', 'id1'));
    assert.deepEqual(got, ['reload']);
    assert.deepEqual(errors, ['event listener failed']);
  });

  it('on() returns a disposable that removes the listener', () => {
    const bus = new EventBus({ error() {}, warn() {}, info() {}, debug() {}, child() { return this; } } as Logger);
    let n = 0;
    const d = bus.on('config.reloaded', () => n++);
    bus.emit('config.reloaded', { changed: [] });
    d.dispose();
    d.dispose();
    bus.emit('config.reloaded', { changed: [] });
    assert.equal(n, 1);
    assert.equal(bus.listenerCount('config.reloaded'), 0);
  });

  it('stamps events with seconds and nanoseconds that agree', () => {
    const e = dockerEvent('container', 'start', 'abc', { name: 'web' });
    assert.equal(e.time, Math.floor(e.timeNano / 1e9));
    assert.equal(e.scope, 'local');
    assert.deepEqual(e.Actor, { ID: 'abc', Attributes: { name: 'web' } });
  });
});
