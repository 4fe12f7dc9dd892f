import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryService } from '../../../plugins/registry-client/endpoints.js';
import { parseChallenges } from '../../../plugins/registry-client/auth-challenge.js';
import { handleErrorResponse } from '../../../plugins/registry-client/registry-errors.js';
import { selectManifests } from '../../../plugins/registry-client/platform-select.js';
import { decodeRegistryAuth } from '../../../api-compat/http/registry-auth.js';
import { credentialsOf } from '../../../plugins/registry-client/registry-auth.js';

const service = (insecure: string[] = [], mirrors: string[] = []) =>
  new RegistryService({ insecure, mirrors, certsDirs: [], officialEndpoint: 'https://registry-1.docker.io' });

const urls = async (s: RegistryService, name: string, withMirrors = true) => (await s.endpoints(name, withMirrors)).map((e) => `${e.url.protocol}//${e.url.host}${e.tls?.insecure ? ' (no verify)' : ''}${e.mirror ? ' mirror' : ''}`);

describe('registry endpoints as dockerd looks them up', () => {
  it('loopback registries are insecure without configuration: HTTPS without verification, then HTTP', async () => {
    assert.deepEqual(await urls(service(), '127.0.0.1:5000'), ['https://127.0.0.1:5000 (no verify)', 'http://127.0.0.1:5000']);
    assert.deepEqual(await urls(service(), 'localhost:5000'), ['https://localhost:5000 (no verify)', 'http://localhost:5000']);
    assert.deepEqual(await urls(service(), '[::1]:5000'), ['https://[::1]:5000 (no verify)', 'http://[::1]:5000']);
  });

  it('other registries are HTTPS only unless insecure-registries names them or a CIDR holds them', async () => {
    assert.deepEqual(await urls(service(), '10.1.2.3:5000'), ['https://10.1.2.3:5000']);
    assert.deepEqual(await urls(service(['10.1.2.3:5000']), '10.1.2.3:5000'), ['https://10.1.2.3:5000 (no verify)', 'http://10.1.2.3:5000']);
    assert.deepEqual(await urls(service(['10.0.0.0/8']), '10.1.2.3:5000'), ['https://10.1.2.3:5000 (no verify)', 'http://10.1.2.3:5000']);
    assert.deepEqual(await urls(service(['10.0.0.0/8']), '11.1.2.3'), ['https://11.1.2.3']);
    assert.deepEqual(await urls(service(['http://myreg.example:5000']), 'myreg.example:5000'), ['https://myreg.example:5000 (no verify)', 'http://myreg.example:5000']);
    assert.equal(await service().isSecure('no-such-host.invalid:5000'), true);
  });

  it('Docker Hub: mirrors first (pulls only), then the hub', async () => {
    const s = service([], ['https://mirror.example', 'http://127.0.0.1:5001']);
    assert.deepEqual(await urls(s, 'docker.io'), ['https://mirror.example mirror', 'http://127.0.0.1:5001 (no verify) mirror', 'https://registry-1.docker.io']);
    assert.deepEqual(await urls(s, 'index.docker.io', false), ['https://registry-1.docker.io']);
  });
});

describe('registry protocol details', () => {
  it('parses WWW-Authenticate challenges (quoted values, escapes, several schemes)', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
    assert.deepEqual(parseChallenges(['Basic realm="a \\"b\\""', 'Bearer realm=x, error="insufficient_scope"']), [
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'x', error: 'insufficient_scope' } },
    ]);
  });

  it('words registry errors as docker/distribution\'s client', () => {
    const body = (o: unknown) => Buffer.from(JSON.stringify(o));
    assert.equal(handleErrorResponse(404, 'Not Found', {}, body({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] })).message, 'manifest unknown: manifest unknown');
    assert.equal(handleErrorResponse(401, 'Unauthorized', {}, Buffer.from('nope')).message, 'unauthorized: authentication required');
    assert.equal(handleErrorResponse(403, 'Forbidden', {}, Buffer.from('<html>')).message, 'error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<html>"');
    assert.equal(handleErrorResponse(502, 'Bad Gateway', {}, Buffer.alloc(0)).message, 'received unexpected HTTP status: 502 Bad Gateway');
    assert.equal(handleErrorResponse(429, 'Too Many Requests', {}, body({ details: 'slow down' })).message, 'toomanyrequests: slow down');
    const denied = handleErrorResponse(401, 'Unauthorized', { 'www-authenticate': 'Bearer realm="x",error="insufficient_scope"' }, body({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    assert.equal((denied as { code?: string }).code, 'DENIED');
  });

  it('selects index entries by platform with dockerd\'s preferences', () => {
    const d = (architecture: string, variant?: string) => ({ mediaType: 'm', digest: `sha256:${architecture}${variant ?? ''}`, size: 1, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
    const list = [d('arm', 'v6'), d('386'), d('arm64', 'v8'), d('amd64'), d('arm', 'v7')];
    assert.equal(selectManifests(list, { os: 'linux', architecture: 'amd64' })[0]!.digest, 'sha256:amd64');
    assert.equal(selectManifests([d('386')], { os: 'linux', architecture: 'amd64' })[0]!.digest, 'sha256:386');
    assert.equal(selectManifests(list, { os: 'linux', architecture: 'arm64' })[0]!.digest, 'sha256:arm64v8');
    assert.equal(selectManifests(list, { os: 'linux', architecture: 'arm', variant: 'v7' })[0]!.digest, 'sha256:armv7');
    assert.deepEqual(selectManifests(list, { os: 'linux', architecture: 's390x' }), []);
  });

  it('decodes X-Registry-Auth (base64url or standard; garbage means anonymous) and config-file auth', () => {
    const enc = Buffer.from(JSON.stringify({ username: 'u', password: 'p?>', serveraddress: 'r' })).toString('base64url');
    assert.deepEqual(decodeRegistryAuth(enc), { username: 'u', password: 'p?>', serveraddress: 'r' });
    assert.deepEqual(decodeRegistryAuth('%%%'), {});
    assert.deepEqual(credentialsOf({ auth: Buffer.from('alice:pw:x').toString('base64') }), { username: 'alice', password: 'pw:x', identityToken: '', registryToken: '' });
  });
});
