import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionPoint, InvalidParameterError, PluginRegistry } from '../../../kernel/index.js';
import { tracePlugin } from '../../helpers/kernel-fixtures.js';

describe('PluginRegistry', () => {
  const t: string[] = [];

  it('orders providers of a required point before their consumers', () => {
    const reg = new PluginRegistry([
      tracePlugin(t, 'api', ExtensionPoint.ApiServer, { requires: [ExtensionPoint.HostInfo, ExtensionPoint.EventLog] }),
      tracePlugin(t, 'events', ExtensionPoint.EventLog, { requires: [ExtensionPoint.HostInfo] }),
      tracePlugin(t, 'host', ExtensionPoint.HostInfo),
    ]);
    assert.deepEqual(reg.ordered().map((m) => m.id), ['host', 'events', 'api']);
  });

  it('names the cycle when requires loop', () => {
    const reg = new PluginRegistry([
      tracePlugin(t, 'a', ExtensionPoint.HostInfo, { requires: [ExtensionPoint.EventLog] }),
      tracePlugin(t, 'b', ExtensionPoint.EventLog, { requires: [ExtensionPoint.ImageStore] }),
      tracePlugin(t, 'c', ExtensionPoint.ImageStore, { requires: [ExtensionPoint.HostInfo] }),
    ]);
    assert.throws(() => reg.ordered(), (err: Error) => {
      assert.ok(err instanceof InvalidParameterError);
      assert.equal(err.message, 'plugin dependency cycle: a -> b -> c -> a');
      return true;
    });
  });

  it('rejects a duplicate id', () => {
    assert.throws(
      () => new PluginRegistry([tracePlugin(t, 'x', ExtensionPoint.HostInfo), tracePlugin(t, 'x', ExtensionPoint.EventLog)]),
      /duplicate plugin id: x/,
    );
  });

  it('rejects two providers with the same Docker name on one point', () => {
    assert.throws(
      () => new PluginRegistry([
        tracePlugin(t, 'gd1', ExtensionPoint.GraphDriver, { name: 'overlay2' }),
        tracePlugin(t, 'gd2', ExtensionPoint.GraphDriver, { name: 'overlay2' }),
      ]),
      /duplicate storage driver "overlay2": plugins gd1 and gd2/,
    );
  });

  it('rejects an unknown extension point', () => {
    assert.throws(() => new PluginRegistry([tracePlugin(t, 'odd', 'nope.v1' as never)]), /unknown extension point nope\.v1/);
  });
});
