import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable, busyboxRootfsTar } from '../helpers/busybox-rootfs.js';
import { dockerAsync, htpasswdAvailable, registryAvailable, startRegistry, type LocalRegistry } from '../helpers/registry-server.js';
import { startTokenServer, type TokenServer } from '../helpers/registry-proxies.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !busyboxAvailable ? 'busybox-static is not installed'
  : !registryAvailable ? 'docker-registry is not installed (scripts/os-packages.txt)'
  : !htpasswdAvailable ? 'htpasswd (apache2-utils) is not installed' : false;

function cli(d: BerthdProcess) {
  const cfg = join(d.dir, 'docker-config');
  const run = (args: string[], input?: string) => dockerAsync(d.socket, cfg, args, { input });
  return {
    run,
    cfg,
    async ok(args: string[], input?: string) {
      const r = await run(args, input);
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async fail(args: string[], input?: string) {
      const r = await run(args, input);
      assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
      return r.stderr;
    },
  };
}

describe('docker login / push / pull with registry credentials', { skip }, () => {
  let d: BerthdProcess;
  let rootfs: Awaited<ReturnType<typeof busyboxRootfsTar>>;
  let imageId = '';

  before(async () => {
    d = await startBerthd({ 'storage-driver': 'vfs' });
    rootfs = await busyboxRootfsTar();
    imageId = (await cli(d).ok(['import', rootfs.tar, 'local/bb:1'])).trim();
  });
  after(async () => {
    await d?.stop();
    await rootfs?.cleanup();
  });

  describe('htpasswd Basic auth', () => {
    let reg: LocalRegistry;
    before(async () => { reg = await startRegistry({ basic: { user: 'alice', password: 's3cret' } }); });
    after(async () => { await reg?.stop(); });

    it('refuses bad credentials with dockerd\'s wording, then logs in', async () => {
      const C = cli(d);
      const bad = await C.fail(['login', reg.host, '-u', 'alice', '--password-stdin'], 'wrong\n');
      assert.match(bad, new RegExp(`Error response from daemon: login attempt to http://${reg.host}/v2/ failed with status: 401 Unauthorized`));
      const out = await C.ok(['login', reg.host, '-u', 'alice', '--password-stdin'], 's3cret\n');
      assert.match(out, /Login Succeeded/);
      const stored = JSON.parse(await readFile(join(C.cfg, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string }> };
      assert.equal(Buffer.from(stored.auths[reg.host]!.auth!, 'base64').toString(), 'alice:s3cret');
    });

    it('push and pull with the stored credentials; after logout the pull is refused', async () => {
      const C = cli(d);
      await C.ok(['tag', imageId, `${reg.host}/private/bb:1`]);
      assert.match(await C.ok(['push', `${reg.host}/private/bb:1`]), /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
      await C.ok(['rmi', `${reg.host}/private/bb:1`]);
      assert.match(await C.ok(['pull', `${reg.host}/private/bb:1`]), /Status: Downloaded newer image/);
      await C.ok(['rmi', `${reg.host}/private/bb:1`]);
      await C.ok(['logout', reg.host]);
      assert.match(await C.fail(['pull', `${reg.host}/private/bb:1`]), new RegExp(`Error response from daemon: Head "http://${reg.host}/v2/private/bb/manifests/1": no basic auth credentials`));
    });
  });

  describe('Bearer token server', () => {
    let reg: LocalRegistry;
    let tokens: TokenServer;
    before(async () => {
      reg = await startRegistry();
      tokens = await startTokenServer(reg.port, { bob: 'hunter2' });
    });
    after(async () => {
      await tokens?.close();
      await reg?.stop();
    });

    it('anonymous pulls of a public repository get a token; a private one is "pull access denied"', async () => {
      const C = cli(d);
      // Seed through the open registry behind the token server.
      await C.ok(['tag', imageId, `${reg.host}/public/bb:1`]);
      await C.ok(['push', `${reg.host}/public/bb:1`]);
      await C.ok(['tag', imageId, `${reg.host}/secret/bb:1`]);
      await C.ok(['push', `${reg.host}/secret/bb:1`]);
      assert.match(await C.ok(['pull', `${tokens.host}/public/bb:1`]), /Status: Downloaded newer image/);
      const denied = await C.fail(['pull', `${tokens.host}/secret/bb:1`]);
      assert.match(denied, new RegExp(`Error response from daemon: pull access denied for ${tokens.host}/secret/bb, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`));
    });

    it('docker login: bad password as Docker Hub words it; a good one returns an identity token that later pulls use', async () => {
      const C = cli(d);
      const bad = await C.fail(['login', tokens.host, '-u', 'bob', '--password-stdin'], 'nope\n');
      assert.match(bad, new RegExp(`Error response from daemon: Get "http://${tokens.host}/v2/": unauthorized: incorrect username or password`));
      assert.match(await C.ok(['login', tokens.host, '-u', 'bob', '--password-stdin'], 'hunter2\n'), /Login Succeeded/);
      const stored = JSON.parse(await readFile(join(C.cfg, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string; identitytoken?: string }> };
      assert.match(stored.auths[tokens.host]!.identitytoken ?? '', /^[0-9a-f]{32}$/);
      assert.match(await C.ok(['pull', `${tokens.host}/secret/bb:1`]), /Status: (Downloaded newer image|Image is up to date)/);
      await C.ok(['tag', imageId, `${tokens.host}/secret/pushed:2`]);
      assert.match(await C.ok(['push', `${tokens.host}/secret/pushed:2`]), /^2: digest: sha256:/m);
    });

    it('tokens are reused across pulls and refreshed when the registry stops accepting them', async () => {
      const C = cli(d);
      await C.ok(['pull', `${tokens.host}/public/bb:1`]);
      const n = tokens.tokenRequests;
      await C.ok(['pull', `${tokens.host}/public/bb:1`]);
      await C.ok(['pull', `${tokens.host}/public/bb:1`]);
      assert.equal(tokens.tokenRequests, n, 'a cached token is reused');
      tokens.revokeAll();
      assert.match(await C.ok(['pull', `${tokens.host}/public/bb:1`]), /Image is up to date/);
      assert.ok(tokens.tokenRequests > n, 'a revoked token is replaced');
    });
  });
});
