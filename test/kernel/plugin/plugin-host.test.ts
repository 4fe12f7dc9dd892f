import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { definePlugin, ExtensionPoint, Kernel, silentLogger, type KernelTopics } from '../../../kernel/index.js';
import { tempDir, testConfig, tracePlugin } from '../../helpers/kernel-fixtures.js';

describe('PluginHost lifecycle', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  beforeEach(async () => { dir = await tempDir(); });
  afterEach(async () => { await dir.cleanup(); });

  it('activates and starts in dependency order and shuts down in reverse, once', async () => {
    const trace: string[] = [];
    const kernel = new Kernel([
      tracePlugin(trace, 'api', ExtensionPoint.ApiServer, { requires: [ExtensionPoint.HostInfo] }),
      tracePlugin(trace, 'host', ExtensionPoint.HostInfo),
    ], silentLogger);
    await kernel.start(testConfig(dir.path));
    assert.deepEqual(trace, ['host:activate', 'api:activate', 'host:start', 'api:start']);
    trace.length = 0;
    await kernel.shutdown();
    await kernel.shutdown();
    assert.deepEqual(trace, ['api:stop', 'api:dispose', 'host:stop', 'host:dispose']);
    const timings = kernel.plugins.statuses().find((s) => s.id === 'host')!.timings;
    assert.equal(typeof timings.activate, 'number');
    assert.equal(typeof timings.dispose, 'number');
  });

  it('activates independent plugins concurrently and dependants only after their providers', { timeout: 10_000 }, async () => {
    // The graph driver finishes only once the API server has activated: a
    // sequential boot (graph first in the list) would never get there.
    let apiActivated!: () => void;
    const apiDone = new Promise<void>((r) => { apiActivated = r; });
    const trace: string[] = [];
    const graph = definePlugin<unknown>({
      id: 'graph', point: ExtensionPoint.GraphDriver, name: 'g', swap: 'restart-only',
      async activate() { trace.push('graph:begin'); await apiDone; trace.push('graph:end'); return {}; },
    });
    const images = definePlugin<unknown>({
      id: 'images', point: ExtensionPoint.ImageStore, name: 'images', swap: 'restart-only', requires: [ExtensionPoint.GraphDriver],
      activate() { trace.push('images'); return {}; },
    });
    const api = definePlugin<unknown>({
      id: 'api', point: ExtensionPoint.ApiServer, name: 'api', swap: 'restart-only',
      activate() { trace.push('api'); apiActivated(); return {}; },
    });
    const kernel = new Kernel([graph, images, api], silentLogger);
    await kernel.start(testConfig(dir.path));
    assert.deepEqual(trace, ['graph:begin', 'api', 'graph:end', 'images']);
    await kernel.shutdown();
  });

  it('tries single-point candidates by priority whatever the registration order', async () => {
    const trace: string[] = [];
    const kernel = new Kernel([
      tracePlugin(trace, 'graph-low', ExtensionPoint.GraphDriver, { name: 'low', priority: 50 }),
      tracePlugin(trace, 'graph-high', ExtensionPoint.GraphDriver, { name: 'high', priority: 5, fail: 'skip' }),
      tracePlugin(trace, 'graph-mid', ExtensionPoint.GraphDriver, { name: 'mid', priority: 20 }),
    ], silentLogger);
    await kernel.start(testConfig(dir.path));
    assert.deepEqual(trace.filter((t) => t.endsWith(':activate')), ['graph-high:activate', 'graph-mid:activate']);
    assert.equal(kernel.plugins.selectedName(ExtensionPoint.GraphDriver), 'mid');
    await kernel.shutdown();
  });

  it('records a skip apart from a failure, and skips dependants of a missing point', async () => {
    const trace: string[] = [];
    const kernel = new Kernel([
      tracePlugin(trace, 'host', ExtensionPoint.HostInfo, { fail: 'skip' }),
      tracePlugin(trace, 'events', ExtensionPoint.EventLog, { fail: 'activate' }),
      tracePlugin(trace, 'api', ExtensionPoint.ApiServer, { requires: [ExtensionPoint.HostInfo] }),
    ], silentLogger);
    await kernel.start(testConfig(dir.path));
    const by = Object.fromEntries(kernel.plugins.statuses().map((s) => [s.id, s]));
    assert.equal(by.host!.state, 'skipped');
    assert.equal(by.host!.reason, 'host unsupported here');
    assert.equal(by.events!.state, 'failed');
    assert.equal(by.events!.reason, 'events broke');
    assert.equal(by.api!.state, 'skipped');
    assert.match(by.api!.reason!, /requires a host information, and none is active/);
    assert.ok(!trace.includes('api:activate'));
    await kernel.shutdown();
  });

  it('makes a skip of a required plugin fatal', async () => {
    const kernel = new Kernel([tracePlugin([], 'host', ExtensionPoint.HostInfo, { fail: 'skip' })], silentLogger);
    await assert.rejects(kernel.start(testConfig(dir.path, { berth: { require: ['host'] } })), /host information host \(plugin host\) cannot be used: skipped: host unsupported here/);
  });

  it('selects a single-point provider by daemon.json key, by existing state, then by priority', async () => {
    const mk = (trace: string[]) => [
      tracePlugin(trace, 'graph-a', ExtensionPoint.GraphDriver, { name: 'a', priority: 10, fail: 'skip' }),
      tracePlugin(trace, 'graph-b', ExtensionPoint.GraphDriver, { name: 'b', priority: 20 }),
      tracePlugin(trace, 'graph-c', ExtensionPoint.GraphDriver, { name: 'c', priority: 30 }),
    ];
    // priority: a skips, so b wins; c is never activated
    let trace: string[] = [];
    let k = new Kernel(mk(trace), silentLogger);
    await k.start(testConfig(dir.path));
    assert.equal(k.plugins.selectedName(ExtensionPoint.GraphDriver), 'b');
    assert.ok(!trace.includes('graph-c:activate'));
    await k.shutdown();

    // explicit storage-driver
    trace = [];
    k = new Kernel(mk(trace), silentLogger);
    await k.start(testConfig(dir.path, { 'storage-driver': 'c' }));
    assert.equal(k.plugins.selectedName(ExtensionPoint.GraphDriver), 'c');
    await k.shutdown();

    // an explicitly chosen driver that cannot run is fatal
    k = new Kernel(mk([]), silentLogger);
    await assert.rejects(k.start(testConfig(dir.path, { 'storage-driver': 'a' })), /storage driver a \(plugin graph-a\) cannot be used: skipped/);

    // state on disk wins over priority
    const cfg = testConfig(dir.path);
    await mkdir(join(cfg['data-root'], 'c'), { recursive: true });
    await writeFile(join(cfg['data-root'], 'c', 'layer'), 'x');
    k = new Kernel(mk([]), silentLogger);
    await k.start(cfg);
    assert.equal(k.plugins.selectedName(ExtensionPoint.GraphDriver), 'c');
    await k.shutdown();
  });

  it('refuses to guess when several drivers have state', async () => {
    const cfg = testConfig(dir.path);
    for (const n of ['b', 'c']) {
      await mkdir(join(cfg['data-root'], n), { recursive: true });
      await writeFile(join(cfg['data-root'], n, 'layer'), 'x');
    }
    const k = new Kernel([
      tracePlugin([], 'graph-b', ExtensionPoint.GraphDriver, { name: 'b' }),
      tracePlugin([], 'graph-c', ExtensionPoint.GraphDriver, { name: 'c' }),
    ], silentLogger);
    await assert.rejects(k.start(cfg), /contains several valid storage drivers.*\(b, c\)/);
  });

  it('activates a provider outside the selection for a one-off job (activateDetached), and retires it', async () => {
    const trace: string[] = [];
    const k = new Kernel([
      tracePlugin(trace, 'graph-b', ExtensionPoint.GraphDriver, { name: 'b', priority: 10 }),
      tracePlugin(trace, 'graph-c', ExtensionPoint.GraphDriver, { name: 'c', priority: 20 }),
      tracePlugin(trace, 'graph-s', ExtensionPoint.GraphDriver, { name: 's', priority: 30, fail: 'skip' }),
    ], silentLogger);
    const cfg = testConfig(dir.path);
    await k.start(cfg);
    assert.equal(k.plugins.selectedName(ExtensionPoint.GraphDriver), 'b');
    trace.length = 0;
    const c = await k.plugins.activateDetached(ExtensionPoint.GraphDriver, 'c', cfg);
    assert.ok(c.instance);
    assert.equal(k.plugins.selectedName(ExtensionPoint.GraphDriver), 'b', 'nothing is published');
    await c.retire();
    assert.deepEqual(trace, ['graph-c:activate', 'graph-c:stop', 'graph-c:dispose'], 'never started, retired once');
    await assert.rejects(k.plugins.activateDetached(ExtensionPoint.GraphDriver, 's', cfg), /storage driver s cannot be used here: .*unsupported here/);
    await assert.rejects(k.plugins.activateDetached(ExtensionPoint.GraphDriver, 'zz', cfg), /storage driver zz is not supported by any plugin/);
    await k.shutdown();
  });

  it('honours berth.disable', async () => {
    const trace: string[] = [];
    const k = new Kernel([tracePlugin(trace, 'host', ExtensionPoint.HostInfo)], silentLogger);
    await k.start(testConfig(dir.path, { berth: { disable: ['host'] } }));
    assert.equal(k.plugins.statuses()[0]!.state, 'disabled');
    assert.deepEqual(trace, []);
    await k.shutdown();
  });
});

describe('PluginHost reload', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  beforeEach(async () => { dir = await tempDir(); });
  afterEach(async () => { await dir.cleanup(); });

  it('re-activates a live plugin whose section changed and retires the old instance', async () => {
    const trace: string[] = [];
    const k = new Kernel([tracePlugin(trace, 'host', ExtensionPoint.HostInfo, { defaults: () => ({ level: 1 }) })], silentLogger);
    const swapped: Array<KernelTopics['plugin.swapped']> = [];
    k.events.on('plugin.swapped', (e) => swapped.push(e));
    await k.start(testConfig(dir.path));
    const before = k.plugins.current<{ config: { level: number } }>(ExtensionPoint.HostInfo);
    assert.equal(before.config.level, 1);
    trace.length = 0;
    await k.reload(testConfig(dir.path, { berth: { plugins: { host: { level: 2 } } } }), ['berth']);
    const after = k.plugins.current<{ config: { level: number } }>(ExtensionPoint.HostInfo);
    assert.equal(after.config.level, 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(trace, ['host:activate', 'host:start', 'host:stop', 'host:dispose']);
    assert.equal(swapped.length, 1);
    await k.shutdown();
  });

  it('rolls back: when one preparation fails, nothing changes and the new instances are disposed', async () => {
    const trace: string[] = [];
    let breakNext = false;
    const flaky = tracePlugin(trace, 'events', ExtensionPoint.EventLog, { daemonKeys: ['debug'] });
    const activate = flaky.activate;
    flaky.activate = async (ctx) => { if (breakNext) throw new Error('bad new config'); return activate(ctx); };
    const k = new Kernel([tracePlugin(trace, 'host', ExtensionPoint.HostInfo, { daemonKeys: ['debug'] }), flaky], silentLogger);
    await k.start(testConfig(dir.path));
    const hostBefore = k.plugins.current(ExtensionPoint.HostInfo);
    const eventsBefore = k.plugins.current(ExtensionPoint.EventLog);
    breakNext = true;
    trace.length = 0;
    await assert.rejects(k.reload(testConfig(dir.path, { debug: true }), ['debug']), /bad new config/);
    assert.equal(k.plugins.current(ExtensionPoint.HostInfo), hostBefore);
    assert.equal(k.plugins.current(ExtensionPoint.EventLog), eventsBefore);
    assert.equal(k.plugins.daemonConfig.debug, false);
    // the host instance prepared for the new config was disposed, never started
    assert.deepEqual(trace, ['host:activate', 'host:stop', 'host:dispose']);
    const status = () => k.plugins.statuses().find((p) => p.id === 'events')!;
    assert.equal(status().reloadError, 'bad new config');
    assert.equal(status().state, 'active');
    breakNext = false;
    await k.reload(testConfig(dir.path, { debug: true }), ['debug']);
    assert.equal(status().reloadError, undefined);
    await k.shutdown();
  });

  it('leaves restart-only plugins in place and says so', async () => {
    const trace: string[] = [];
    const k = new Kernel([tracePlugin(trace, 'graph', ExtensionPoint.GraphDriver, { swap: 'restart-only', daemonKeys: ['storage-opts'] })], silentLogger);
    await k.start(testConfig(dir.path));
    const before = k.plugins.current(ExtensionPoint.GraphDriver);
    const notes = await k.reload(testConfig(dir.path, { 'storage-opts': ['x=y'] }), ['storage-opts']);
    assert.equal(k.plugins.current(ExtensionPoint.GraphDriver), before);
    assert.deepEqual(notes, ['graph: configuration change takes effect after a restart']);
    await k.shutdown();
  });

  it('keeps a drained instance alive until its lease is released', async () => {
    const trace: string[] = [];
    const k = new Kernel([tracePlugin(trace, 'exec', ExtensionPoint.ExecDriver, { swap: 'drain', daemonKeys: ['default-runtime'] })], silentLogger);
    await k.start(testConfig(dir.path));
    const lease = k.plugins.slot(ExtensionPoint.ExecDriver, 'exec')!.acquire();
    trace.length = 0;
    await k.reload(testConfig(dir.path, { 'default-runtime': 'crun' }), ['default-runtime']);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(trace, ['exec:activate', 'exec:start']);
    assert.notEqual(k.plugins.all(ExtensionPoint.ExecDriver).get('exec'), lease.instance);
    lease.release();
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(trace, ['exec:activate', 'exec:start', 'exec:stop', 'exec:dispose']);
    await k.shutdown();
  });

  it('an unbounded drain (drainTimeoutMs: Infinity) retires the old instance only at its last lease', async () => {
    const { Slot, EventBus } = await import('../../../kernel/index.js');
    const retired: string[] = [];
    const act = (name: string) => ({ pluginId: name, name, instance: name, retire: async () => { retired.push(name); } });
    const slot = new Slot(act('old'), ExtensionPoint.ExecDriver, new EventBus(silentLogger));
    const lease = slot.acquire();
    const swapped = slot.swap(act('new'), Infinity);
    await new Promise((r) => setTimeout(r, 100)); // setTimeout(…, Infinity) would have fired after 1 ms
    assert.deepEqual(retired, []);
    assert.equal(slot.current(), 'new');
    assert.equal(lease.instance, 'old');
    lease.release();
    await swapped;
    assert.deepEqual(retired, ['old']);
  });
});

describe('plugin DI scopes', () => {
  it('give each plugin a child scope that resolves kernel services and its own @injectable classes', async () => {
    const { definePlugin, injectable, inject, LoggerToken, EventBusToken } = await import('../../../kernel/index.js');
    @injectable()
    class Greeter {
      constructor(@inject(EventBusToken) readonly bus: unknown, @inject(LoggerToken) readonly log: unknown) {}
    }
    const dir = await tempDir();
    const k = new Kernel([definePlugin<{ greeter: Greeter; sameBus: boolean }>({
      id: 'di', point: ExtensionPoint.HostInfo, name: 'di', swap: 'live',
      activate(ctx) {
        ctx.scope.bindClass(Greeter, Greeter);
        const greeter = ctx.scope.get(Greeter);
        return { greeter, sameBus: greeter.bus === ctx.events };
      },
    })], silentLogger);
    await k.start(testConfig(dir.path));
    const inst = k.plugins.current<{ greeter: Greeter; sameBus: boolean }>(ExtensionPoint.HostInfo);
    assert.ok(inst.greeter instanceof Greeter);
    assert.equal(inst.sameBus, true);
    assert.equal(inst.greeter.log, silentLogger);
    await k.shutdown();
    await dir.cleanup();
  });
});
