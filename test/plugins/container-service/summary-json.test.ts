import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summaryView } from '../../../plugins/container-service/container-view.js';
import { summaryJson, summaryListBody, summaryListJson } from '../../../plugins/container-service/summary-json.js';
import { humanDuration, humanDurationStableFor } from '../../../plugins/container-service/human-duration.js';
import type { ContainerRecord, NetworkSettings } from '../../../kernel/index.js';

const NOW = Date.parse('2026-01-01T00:05:00Z');

function rec(status: ContainerRecord['State']['Status'], extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    Id: 'ab'.repeat(32), Name: '/web', Created: '2026-01-01T00:00:00.123456789Z', Path: 'sh', Args: ['-c', 'echo "hi"'], Image: 'sha256:' + 'a'.repeat(64), ImageName: 'busybox',
    Config: { Image: 'busybox', Labels: { a: 'b', 'x"y': 'é\n' } }, HostConfig: { NetworkMode: 'default' }, NetworkingConfig: { EndpointsConfig: {} },
    State: { Status: status, Running: status === 'running', Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 3, Error: '', StartedAt: '2026-01-01T00:01:00Z', FinishedAt: '2026-01-01T00:04:49Z' },
    Driver: 'overlay2', Runtime: 'runc', RestartCount: 0, Platform: 'linux', ...extra,
  };
}

const network = {
  Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }], '53/udp': null },
  Networks: { bridge: { NetworkID: 'n1', IPAddress: '172.17.0.2', Aliases: null } },
} as unknown as NetworkSettings;

describe('summaryJson', () => {
  const cases: Array<[string, ContainerRecord, { rw: number; rootFs: number } | undefined, NetworkSettings | undefined]> = [
    ['created, no network', rec('created'), undefined, undefined],
    ['running with ports and networks', rec('running'), undefined, network],
    ['exited with sizes', rec('exited'), { rw: 12, rootFs: 4096 }, network],
    ['no labels, host network, a volume and a bind', rec('paused', {
      Config: { Image: 'busybox' }, HostConfig: { NetworkMode: 'host' },
      MountPoints: {
        '/data': { Type: 'volume', Name: 'v1', Source: '/var/lib/berth/volumes/v1/_data', Destination: '/data', Mode: 'z', RW: true, Propagation: '' },
        '/src': { Type: 'bind', Source: '/home/x', Destination: '/src', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      },
    } as unknown as Partial<ContainerRecord>), undefined, undefined],
  ];
  for (const [name, c, sizes, net] of cases) {
    it(`is JSON.stringify(summaryView(...)) byte for byte: ${name}`, () => {
      assert.equal(summaryJson(c, sizes, net, NOW), JSON.stringify(summaryView(c, sizes, net, NOW)));
      // A second call answers from the per-record cache: still the same text.
      assert.equal(summaryJson(c, sizes, net, NOW), JSON.stringify(summaryView(c, sizes, net, NOW)));
    });
  }

  it('recomputes Status at every call (the time moves on, the record does not)', () => {
    const c = rec('running');
    assert.match(summaryJson(c, undefined, undefined, NOW), /"Status":"Up 4 minutes"/);
    assert.match(summaryJson(c, undefined, undefined, NOW + 3_600_000), /"Status":"Up About an hour"/);
  });

  it('sees a saved record (a new object) rather than the cached one', () => {
    const c = rec('created');
    summaryJson(c, undefined, undefined, NOW);
    const renamed = { ...c, Name: '/other', State: { ...c.State, Status: 'running' as const, Running: true } };
    const text = summaryJson(renamed, undefined, undefined, NOW);
    assert.match(text, /"Names":\["\/other"\]/);
    assert.match(text, /"State":"running"/);
  });

  it('lists as dockerd encodes: a JSON array and a newline', () => {
    const a = rec('created');
    const b = rec('exited', { Id: 'cd'.repeat(32), Name: '/db' });
    const text = summaryListJson([{ c: a }, { c: b, network }], NOW);
    assert.equal(text, JSON.stringify([summaryView(a, undefined, undefined, NOW), summaryView(b, undefined, network, NOW)]) + '\n');
    assert.equal(summaryListJson([], NOW), '[]\n');
  });

  it('keeps a Status text exactly as long as humanDuration keeps it, across every unit', () => {
    // Points around each boundary (seconds, the minute, minutes, the hour, rounded hours, days, weeks, months, years).
    const points = [0, 999, 1000, 1001, 59_999, 60_000, 61_000, 3_599_999, 3_600_000, 5_399_999, 5_400_000, 47.6 * 3_600_000, 48.5 * 3_600_000, 15 * 86_400_000, 70 * 86_400_000, 800 * 86_400_000];
    for (const d of points) {
      const stable = humanDurationStableFor(d);
      assert.ok(stable > 0, `stable for ${d}`);
      assert.equal(humanDuration(d + stable - 1), humanDuration(d), `text kept until ${d + stable} (from ${d})`);
    }
    for (const d of [999, 59_999, 119_999, 3_599_999, 5_399_999]) assert.notEqual(humanDuration(d + humanDurationStableFor(d)), humanDuration(d), `text changes at the boundary after ${d}`);
  });

  it('serves a cached Status only while it is still the text summaryView gives', () => {
    const c = rec('running', { Id: 'ef'.repeat(32) });
    for (const t of [NOW, NOW + 400, NOW + 999, NOW + 59_000, NOW + 60_000, NOW + 3_000_000, NOW - 5_000, NOW + 7_200_000]) {
      assert.equal(summaryJson(c, undefined, undefined, t), JSON.stringify(summaryView(c, undefined, undefined, t)), `at +${t - NOW} ms`);
    }
    const exited = rec('exited', { Id: '12'.repeat(32) });
    for (const t of [NOW, NOW + 1000, NOW + 11_000, NOW + 120_000]) {
      assert.equal(summaryJson(exited, undefined, undefined, t), JSON.stringify(summaryView(exited, undefined, undefined, t)), `exited at +${t - NOW} ms`);
    }
  });

  it('reuses the list body while nothing changed, and rebuilds it on a new record, a network change, the clock or sizes', () => {
    const a = rec('running', { Id: '34'.repeat(32) });
    const b = rec('created', { Id: '56'.repeat(32), Name: '/b' });
    const expected = (items: Array<{ c: ContainerRecord; network?: NetworkSettings; sizes?: { rw: number; rootFs: number } }>, now: number) =>
      JSON.stringify(items.map((i) => summaryView(i.c, i.sizes, i.network, now))) + '\n';
    const first = summaryListBody([{ c: a }, { c: b }], NOW);
    assert.equal(first.toString(), expected([{ c: a }, { c: b }], NOW));
    assert.equal(summaryListBody([{ c: a }, { c: b }], NOW + 10), first, 'same elements: the same body');
    // A state change (a new record), as after a stop, a rename or a label-changing recreate.
    const stopped = { ...a, Name: '/renamed', State: { ...a.State, Status: 'exited' as const, Running: false } };
    const afterStop = summaryListBody([{ c: stopped }, { c: b }], NOW + 10);
    assert.equal(afterStop.toString(), expected([{ c: stopped }, { c: b }], NOW + 10));
    // A network connect changes Ports/Networks without a new record.
    const connected = summaryListBody([{ c: stopped, network }, { c: b }], NOW + 10);
    assert.equal(connected.toString(), expected([{ c: stopped, network }, { c: b }], NOW + 10));
    const disconnected = summaryListBody([{ c: stopped }, { c: b }], NOW + 10);
    assert.equal(disconnected.toString(), expected([{ c: stopped }, { c: b }], NOW + 10));
    // The clock: "Exited (3) 11 seconds ago" becomes "… 2 minutes ago".
    const later = summaryListBody([{ c: stopped }, { c: b }], NOW + 120_000);
    assert.equal(later.toString(), expected([{ c: stopped }, { c: b }], NOW + 120_000));
    // A filter or a limit selecting fewer containers.
    assert.equal(summaryListBody([{ c: b }], NOW + 120_000).toString(), expected([{ c: b }], NOW + 120_000));
    // size=1: sizes in every element, and the cached body without them is not reused.
    const sized = [{ c: stopped, sizes: { rw: 1, rootFs: 2 } }, { c: b, sizes: { rw: 0, rootFs: 2 } }];
    assert.equal(summaryListBody(sized, NOW + 120_000).toString(), expected(sized, NOW + 120_000));
    assert.equal(summaryListBody([{ c: stopped }, { c: b }], NOW + 120_000).toString(), expected([{ c: stopped }, { c: b }], NOW + 120_000));
  });
});
