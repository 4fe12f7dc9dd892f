import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { summaryView } from '../../../plugins/container-service/container-view.js';
import { summaryJson, summaryListJson } from '../../../plugins/container-service/summary-json.js';
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
});
