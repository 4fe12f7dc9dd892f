import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deleteRestore, jumpRules, rulesRestore } from '../../../plugins/net-bridge/iptables-rules.js';

describe('iptables rule generation', () => {
  it('puts every rule in the prefixed chains, with one jump per built-in chain', () => {
    const jumps = jumpRules('BT1');
    assert.deepEqual(jumps.map(([t, c]) => `${t}/${c}`), ['nat/PREROUTING', 'nat/OUTPUT', 'nat/POSTROUTING', 'filter/FORWARD']);
    assert.ok(jumps.every(([, , r]) => r.at(-1)!.startsWith('BT1')));
    const text = rulesRestore('BT1', [{ bridge: 'bt0', subnet: '10.5.0.0/24', icc: true, masquerade: true, internal: false }], []);
    for (const line of text.split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':'))) {
      assert.match(line, /^(-A |:)BT1/, line);
    }
  });

  it('masquerades outbound traffic of a bridge, isolates bridges, honours icc and internal', () => {
    const text = rulesRestore('B', [
      { bridge: 'b0', subnet: '10.5.0.0/24', icc: false, masquerade: true, internal: false },
      { bridge: 'b1', subnet: '10.6.0.0/24', icc: true, masquerade: true, internal: true },
    ], []);
    assert.match(text, /-A B-POSTROUTING -s 10\.5\.0\.0\/24 ! -o b0 -j MASQUERADE/);
    assert.doesNotMatch(text, /-s 10\.6\.0\.0\/24 ! -o b1 -j MASQUERADE/, 'internal networks are not NATed');
    assert.match(text, /-A B-FORWARD -i b0 -o b0 -j DROP/);
    assert.match(text, /-A B-FORWARD -i b1 -o b1 -j ACCEPT/);
    assert.match(text, /-A B-ISOLATION-STAGE-1 -i b0 ! -o b0 -j B-ISOLATION-STAGE-2/);
    assert.match(text, /-A B-ISOLATION-STAGE-2 -o b0 -j DROP/);
    assert.match(text, /-A B-ISOLATION-STAGE-1 ! -d 10\.6\.0\.0\/24 -i b1 -j DROP/);
    assert.doesNotMatch(text, /-i b1 ! -o b1 -j ACCEPT/);
    assert.match(text, /^\*nat\n/);
    assert.match(text, /COMMIT\n\*filter\n/);
  });

  it('publishes ports with DNAT, a hairpin masquerade and a forward accept', () => {
    const text = rulesRestore('B', [], [
      { bridge: 'b0', proto: 'tcp', hostIp: '', hostPort: 8080, containerIp: '10.5.0.2', containerPort: 80 },
      { bridge: 'b0', proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.5.0.2', containerPort: 53 },
    ]);
    assert.match(text, /-A B ! -i b0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10\.5\.0\.2:80/);
    assert.match(text, /-A B -d 127\.0\.0\.1\/32 ! -i b0 -p udp -m udp --dport 5353 -j DNAT --to-destination 10\.5\.0\.2:53/);
    assert.match(text, /-A B-POSTROUTING -s 10\.5\.0\.2\/32 -d 10\.5\.0\.2\/32 -p tcp -m tcp --dport 80 -j MASQUERADE/);
    assert.match(text, /-A B -d 10\.5\.0\.2\/32 ! -i b0 -o b0 -p tcp -m tcp --dport 80 -j ACCEPT/);
  });

  it('deletes exactly this daemon\'s chains, not another prefix sharing its start', () => {
    const text = deleteRestore('BT1', { nat: ['BT1', 'BT1-POSTROUTING', 'BT12', 'BT12-POSTROUTING', 'DOCKER'], filter: ['BT1-FORWARD', 'BT1-X'] });
    assert.match(text, /-X BT1\n/);
    assert.match(text, /-X BT1-POSTROUTING/);
    assert.match(text, /-X BT1-FORWARD/);
    assert.doesNotMatch(text, /BT12|DOCKER|BT1-X/);
    assert.equal(deleteRestore('BT1', { nat: [], filter: [] }), '');
  });
});
