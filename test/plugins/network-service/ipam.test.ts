import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool } from '../../../plugins/network-service/ipam.js';
import { candidateSubnets, chooseSubnet } from '../../../plugins/network-service/address-pools.js';
import { mustCidr } from '../../../plugins/network-service/ipv4.js';
import { macFromIp, parseMac } from '../../../plugins/network-service/mac.js';
import { defaultBridgeSpec } from '../../../plugins/network-service/default-bridge.js';

describe('IPAM address pool', () => {
  it('hands out addresses after the gateway, never twice, never network/broadcast/gateway', () => {
    const p = new AddressPool('10.9.0.0/29', '10.9.0.1');
    const got = [p.allocate(), p.allocate(), p.allocate(), p.allocate(), p.allocate()];
    assert.deepEqual(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    assert.throws(() => p.allocate(), /no available IPv4 addresses/);
    p.release('10.9.0.4');
    assert.equal(p.allocate(), '10.9.0.4');
  });

  it('does not reuse a released address at once (serial allocation)', () => {
    const p = new AddressPool('10.9.1.0/24', '10.9.1.1');
    assert.equal(p.allocate(), '10.9.1.2');
    p.release('10.9.1.2');
    assert.equal(p.allocate(), '10.9.1.3');
  });

  it('honours a static address, refuses it when taken or outside the subnet', () => {
    const p = new AddressPool('10.9.2.0/24', '10.9.2.1');
    assert.equal(p.allocate('10.9.2.50'), '10.9.2.50');
    assert.throws(() => p.allocate('10.9.2.50'), /Address already in use/);
    assert.throws(() => p.allocate('10.9.2.1'), /Address already in use/);
    assert.throws(() => p.allocate('10.9.3.5'), /no configured subnet contains IP address 10.9.3.5/);
  });

  it('allocates from the ip-range only, and restores reservations', () => {
    const p = new AddressPool('10.9.0.0/16', '10.9.0.1', '10.9.5.0/30');
    assert.ok(p.reserve('10.9.5.1'));
    assert.equal(p.reserve('10.10.0.1'), false);
    assert.deepEqual([p.allocate(), p.allocate(), p.allocate()], ['10.9.5.2', '10.9.5.3', '10.9.5.0']);
    assert.throws(() => p.allocate(), /no available/);
  });
});

describe('default address pools', () => {
  it('splits pools into subnets of their size and skips taken ones', () => {
    const subs = [...candidateSubnets([{ base: '10.20.0.0/22', size: 24 }])].map((s) => `${s.base >>> 24}.${(s.base >>> 16) & 255}.${(s.base >>> 8) & 255}.0/${s.bits}`);
    assert.deepEqual(subs, ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24']);
    const chosen = chooseSubnet([{ base: '10.20.0.0/22', size: 24 }], [mustCidr('10.20.0.0/23', 'x')]);
    assert.equal(chosen.base, mustCidr('10.20.2.0/24', 'x').base);
    assert.throws(() => chooseSubnet([{ base: '10.20.0.0/24', size: 24 }], [mustCidr('10.0.0.0/8', 'x')]), /fully subnetted/);
  });
});

describe('MAC addresses', () => {
  it('derives dockerd\'s 02:42 MAC from the IPv4 address', () => {
    assert.equal(macFromIp('172.17.0.2'), '02:42:ac:11:00:02');
    assert.equal(parseMac('02-42-AC-11-00-09'), '02:42:ac:11:00:09');
    assert.throws(() => parseMac('02:42:ac'), /invalid MAC address/);
  });
});

describe('default bridge from daemon.json', () => {
  it('maps bip, fixed-cidr, mtu, icc, ip-masq and bridge to the network', () => {
    const s = defaultBridgeSpec({ bip: '10.66.0.1/16', 'fixed-cidr': '10.66.5.0/24', mtu: 1400, icc: false, 'ip-masq': false } as never, 'berth0')!;
    assert.deepEqual(s.config, { Subnet: '10.66.0.0/16', Gateway: '10.66.0.1', IPRange: '10.66.5.0/24' });
    assert.equal(s.options['com.docker.network.bridge.name'], 'berth0');
    assert.equal(s.options['com.docker.network.driver.mtu'], '1400');
    assert.equal(s.options['com.docker.network.bridge.enable_icc'], 'false');
    assert.equal(s.options['com.docker.network.bridge.enable_ip_masquerade'], 'false');
    assert.equal(defaultBridgeSpec({ bridge: 'none' } as never, 'berth0'), undefined);
    assert.equal(defaultBridgeSpec({ bridge: 'br9' } as never, 'berth0')!.options['com.docker.network.bridge.name'], 'br9');
  });
});
