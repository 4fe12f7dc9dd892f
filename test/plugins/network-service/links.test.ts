import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkEnv, parseLink } from '../../../plugins/network-service/links.js';

describe('legacy links', () => {
  it('parses the CLI form and dockerd\'s stored form', () => {
    assert.deepEqual(parseLink('db'), { name: 'db', alias: 'db' });
    assert.deepEqual(parseLink('srv:db'), { name: 'srv', alias: 'db' });
    assert.deepEqual(parseLink('/srv:/web/db'), { name: 'srv', alias: 'db' });
  });

  it('names variables after the alias, TCP ports first, ranges of consecutive ports, the linked environment without HOME/PATH', () => {
    const env = linkEnv('/web/my-db', '10.0.0.5', ['PATH=/bin', 'HOME=/root', 'A=1=2', 'BROKEN'], { '5432/tcp': {}, '5433/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    assert.deepEqual(env, [
      'MY_DB_PORT=tcp://10.0.0.5:5432',
      'MY_DB_PORT_5432_TCP=tcp://10.0.0.5:5432', 'MY_DB_PORT_5432_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_5432_TCP_PORT=5432', 'MY_DB_PORT_5432_TCP_PROTO=tcp',
      'MY_DB_PORT_5433_TCP=tcp://10.0.0.5:5433', 'MY_DB_PORT_5433_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_5433_TCP_PORT=5433', 'MY_DB_PORT_5433_TCP_PROTO=tcp',
      'MY_DB_PORT_9000_TCP=tcp://10.0.0.5:9000', 'MY_DB_PORT_9000_TCP_ADDR=10.0.0.5', 'MY_DB_PORT_9000_TCP_PORT=9000', 'MY_DB_PORT_9000_TCP_PROTO=tcp',
      'MY_DB_PORT_5432_TCP_START=tcp://10.0.0.5:5432', 'MY_DB_PORT_5432_TCP_PORT_START=5432', 'MY_DB_PORT_5432_TCP_END=tcp://10.0.0.5:5433', 'MY_DB_PORT_5432_TCP_PORT_END=5433',
      'MY_DB_PORT_53_UDP=udp://10.0.0.5:53', 'MY_DB_PORT_53_UDP_ADDR=10.0.0.5', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
      'MY_DB_NAME=/web/my-db',
      'MY_DB_ENV_A=1=2',
    ]);
  });

  it('without exposed ports only the name and environment', () => {
    assert.deepEqual(linkEnv('/a/b', '10.0.0.9', undefined, undefined), ['B_NAME=/a/b']);
  });
});
