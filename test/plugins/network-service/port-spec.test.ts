import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerPortBindings } from '../../../plugins/network-service/port-spec.js';

const rec = (hc: Record<string, unknown>, exposed: Record<string, object> = {}) => ({ HostConfig: hc, Config: { ExposedPorts: exposed } }) as never;

describe('published port bindings', () => {
  it('reads -p forms: host port, host ip, ranges, udp, and -P on exposed ports', () => {
    const b = containerPortBindings(rec({
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }], '81/tcp': [{ HostIp: '', HostPort: '9000-9010' }] },
      PublishAllPorts: true,
    }, { '80/tcp': {}, '90/tcp': {} }));
    assert.deepEqual(b, [
      { proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 0, hostPortEnd: 0 },
      { proto: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 },
      { proto: 'tcp', containerPort: 81, hostIp: '', hostPort: 9000, hostPortEnd: 9010 },
      { proto: 'tcp', containerPort: 90, hostIp: '', hostPort: 0, hostPortEnd: 0 },
    ]);
  });

  it('exposed ports are not published without -P; bad specs are 400s', () => {
    assert.deepEqual(containerPortBindings(rec({}, { '80/tcp': {} })), []);
    assert.throws(() => containerPortBindings(rec({ PortBindings: { '80/tcp': [{ HostPort: 'x' }] } })), /invalid port specification/);
    assert.throws(() => containerPortBindings(rec({ PortBindings: { '80/icmp': [{ HostPort: '1' }] } })), /invalid proto/);
  });
});
