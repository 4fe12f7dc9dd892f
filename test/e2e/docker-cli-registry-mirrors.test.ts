import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { configFor, fileLayer } from '../helpers/image-archives.js';
import { dockerAsync, freePort, registryAvailable, startRegistry, type LocalRegistry } from '../helpers/registry-server.js';
import { uploadImage } from '../helpers/registry-proxies.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !registryAvailable ? 'docker-registry is not installed (scripts/os-packages.txt)' : false;

/** Docker Hub stands in as a local address nothing listens on: no traffic leaves the machine. */
const UNREACHABLE_HUB = 'http://127.0.0.1:1';

function cli(d: BerthdProcess) {
  const cfg = join(d.dir, 'docker-config');
  return {
    run: (args: string[]) => dockerAsync(d.socket, cfg, args),
    async ok(args: string[]) {
      const r = await dockerAsync(d.socket, cfg, args);
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async fail(args: string[]) {
      const r = await dockerAsync(d.socket, cfg, args);
      assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
      return r.stderr;
    },
  };
}

async function layerCount(d: BerthdProcess): Promise<number> {
  return (await readdir(join(d.dir, 'data', 'image', 'vfs', 'layerdb', 'sha256')).catch(() => [])).length;
}

/** Rewrites daemon.json keeping the harness's keys, sends SIGHUP and waits for `docker info` to show the mirrors. */
async function reload(d: BerthdProcess, change: Record<string, unknown>, mirrors: string[]): Promise<void> {
  const cfg = JSON.parse(await readFile(d.configFile, 'utf8')) as Record<string, unknown>;
  await writeFile(d.configFile, JSON.stringify({ ...cfg, ...change }));
  d.child.kill('SIGHUP');
  const want = JSON.stringify(mirrors.map((m) => m.replace(/\/?$/, '/')));
  for (let i = 0; i < 200; i++) {
    const r = await cli(d).run(['info', '--format', '{{json .RegistryConfig.Mirrors}}']);
    if (r.stdout.trim() === want) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`reload did not take effect: ${d.stderr().slice(-2000)}`);
}

describe('registry-mirrors for Docker Hub names, reloaded with SIGHUP', { skip }, () => {
  let mirror: LocalRegistry;
  let d: BerthdProcess;
  let imageId = '';

  before(async () => {
    mirror = await startRegistry();
    d = await startBerthd({ 'storage-driver': 'vfs', berth: { plugins: { 'registry-client': { officialEndpoint: UNREACHABLE_HUB } } } });
    const layer = await fileLayer('hello.txt', 'from the mirror\n');
    imageId = (await uploadImage(mirror.host, 'library/hello', [layer], configFor([layer]), { tag: '1' })).configId;
  });
  after(async () => {
    await d?.stop();
    await mirror?.stop();
  });

  it('without a mirror, a hub pull fails with the hub endpoint\'s error', async () => {
    assert.match(await cli(d).fail(['pull', 'hello:1']), /Error response from daemon: Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
  });

  it('a mirror added by SIGHUP serves the pull; a dead mirror before it is skipped', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await reload(d, { 'registry-mirrors': [dead, `http://${mirror.host}`] }, [dead, `http://${mirror.host}`]);
    const out = await cli(d).ok(['pull', 'hello:1']);
    assert.match(out, /^1: Pulling from library\/hello$/m);
    assert.match(out, /^Status: Downloaded newer image for hello:1$/m);
    assert.equal((await cli(d).ok(['image', 'inspect', '--format', '{{.Id}}', 'hello:1'])).trim(), imageId);
    assert.match(await cli(d).ok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^hello:1$/m);
  });

  it('a mirror that lacks the image falls back to the hub (unreachable here: its error is reported)', async () => {
    assert.match(await cli(d).fail(['pull', 'absent:1']), /Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
  });

  it('removing the mirror by SIGHUP takes effect for the next pull', async () => {
    await reload(d, { 'registry-mirrors': [] }, []);
    await cli(d).ok(['rmi', 'hello:1']);
    assert.match(await cli(d).fail(['pull', 'hello:1']), /127\.0\.0\.1:1/);
  });
});

/**
 * A registry scripted per repository, for the failures real registries
 * produce: rate limits, server errors, oversize manifests, redirects to
 * another host, connections dropped or stalled mid-blob.
 */
describe('misbehaving registries: dockerd\'s errors, retries, and a consistent store', { skip }, () => {
  let upstream: LocalRegistry;
  let storage: Server;
  let bad: Server;
  let badHost = '';
  let storageHost = '';
  let d: BerthdProcess;
  const drops = new Map<string, number>();
  const layerData = fileLayer('payload.bin', randomBytes(200 * 1024).toString('base64'));
  let blobDigest = '';

  before(async () => {
    upstream = await startRegistry();
    const layer = await layerData;
    const img = await uploadImage(upstream.host, 'src/img', [layer], configFor([layer], { comment: 'bad-registry' }), { tag: '1' });
    blobDigest = (JSON.parse(img.manifest.toString()) as { layers: Array<{ digest: string }> }).layers[0]!.digest;
    // "Blob storage" on another host: serves the upstream's blobs without auth.
    storage = createServer((req, res) => proxy(upstream.port, `/v2/src/img${req.url}`, req.method!, res));
    storageHost = `127.0.0.1:${await listen(storage)}`;
    bad = createServer((req, res) => {
      const m = /^\/v2\/([^/]+)\/img\/(manifests|blobs)\/(.+)$/.exec(req.url ?? '');
      if (req.url === '/v2/') { res.writeHead(200, { 'Docker-Distribution-Api-Version': 'registry/2.0' }); res.end('{}'); return; }
      if (!m) { res.writeHead(404); res.end(); return; }
      const [, kind, what, ref] = m;
      const up = `/v2/src/img/${what}/${ref}`;
      if (kind === 'ratelimit') {
        res.writeHead(429, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }));
        return;
      }
      if (kind === 'broken') { res.writeHead(500, { 'Content-Type': 'text/plain' }); res.end('oops'); return; }
      if (kind === 'huge' && what === 'manifests') {
        res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' });
        res.end(Buffer.alloc(5 << 20, 0x20));
        return;
      }
      if (kind === 'redirect' && what === 'blobs') {
        res.writeHead(307, { Location: `http://${storageHost}/blobs/${ref}` });
        res.end();
        return;
      }
      if (kind === 'slow' && what === 'blobs' && ref === blobDigest) {
        // A blob that trickles: the client gives up before it is complete.
        res.writeHead(200, { 'Content-Length': String(400 * 1024), 'Content-Type': 'application/octet-stream' });
        let sent = 0;
        const t = setInterval(() => { if (sent < 200 * 1024) { res.write(Buffer.alloc(2048)); sent += 2048; } }, 50);
        res.once('close', () => clearInterval(t));
        return;
      }
      if (kind === 'burst' && what === 'blobs' && ref === blobDigest) {
        // Headers and a first chunk large enough for a "Downloading" message at once, then a stall.
        res.writeHead(200, { 'Content-Length': String(400 * 1024), 'Content-Type': 'application/octet-stream' });
        res.write(Buffer.alloc(64 * 1024));
        return;
      }
      if ((kind === 'flaky' || kind === 'dead') && what === 'blobs' && ref === blobDigest) {
        const n = drops.get(kind) ?? 0;
        drops.set(kind, n + 1);
        if (kind === 'dead' || n === 0) {
          // Headers and half the body, then the connection is cut.
          res.writeHead(200, { 'Content-Length': String(400 * 1024), 'Content-Type': 'application/octet-stream' });
          res.write(Buffer.alloc(1024));
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
      }
      proxy(upstream.port, up, req.method!, res);
    });
    badHost = `127.0.0.1:${await listen(bad)}`;
    d = await startBerthd({ 'storage-driver': 'vfs', berth: { plugins: { 'registry-client': { retryDelayMs: 100 } } } });
  });
  after(async () => {
    await d?.stop();
    bad?.closeAllConnections();
    bad?.close();
    storage?.closeAllConnections();
    storage?.close();
    await upstream?.stop();
  });

  it('429 is reported with the registry\'s message, 5xx as an unexpected status', async () => {
    assert.match(await cli(d).fail(['pull', `${badHost}/ratelimit/img:1`]), /Error response from daemon: toomanyrequests: You have reached your pull rate limit\./);
    assert.match(await cli(d).fail(['pull', `${badHost}/broken/img:1`]), /Error response from daemon: received unexpected HTTP status: 500 Internal Server Error/);
  });

  it('an oversize manifest is refused without reading it all', async () => {
    assert.match(await cli(d).fail(['pull', `${badHost}/huge/img:1`]), /manifest too large/);
  });

  it('a blob redirected to another host is fetched from there', async () => {
    assert.match(await cli(d).ok(['pull', `${badHost}/redirect/img:1`]), /Status: Downloaded newer image/);
    await cli(d).ok(['rmi', `${badHost}/redirect/img:1`]);
  });

  it('a client that hangs up mid-pull cancels it: no image, no layer, no temp file', async () => {
    const before = await layerCount(d);
    const { seen } = await pullAndHangUp(d.socket, `${badHost}/slow/img`);
    assert.match(seen, /"Downloading"/);
    const tmp = join(d.dir, 'data', 'image', 'vfs', 'tmp');
    const t0 = Date.now();
    // The daemon opens the temp file before it reports "Downloading" (dockerd's order) and
    // starts no download once cancelled: a file seen gone here stays gone, so polling until
    // none is left waits for the cleanup itself.
    for (let i = 0; i < 100 && (await readdir(tmp)).some((n) => n.startsWith('GetImageBlob')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await readdir(tmp)).filter((n) => n.startsWith('GetImageBlob')), []);
    assert.ok(Date.now() - t0 < 5000, 'the download stopped with the client, not at the end of the blob');
    assert.equal(await layerCount(d), before);
    assert.doesNotMatch(await cli(d).ok(['images', '--format', '{{.Repository}}']), /slow/);
  });

  it('the temp file of a download exists before its first "Downloading" (dockerd\'s order); a hang-up then removes it', async () => {
    const tmp = join(d.dir, 'data', 'image', 'vfs', 'tmp');
    const temps = () => readdirSync(tmp).filter((n) => n.startsWith('GetImageBlob'));
    const before = await layerCount(d);
    // Listed in the same callback that sees the message, before anything else can run.
    const { seen, atFirstProgress } = await pullAndHangUp(d.socket, `${badHost}/burst/img`, temps);
    assert.match(seen, /"Downloading"/);
    assert.equal(atFirstProgress?.length, 1, 'one temp file when the first progress arrives');
    for (let i = 0; i < 100 && temps().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(temps(), []);
    assert.equal(await layerCount(d), before);
  });

  it('a dropped connection is retried; one that always drops fails the pull and leaves nothing behind', async () => {
    const ok = await cli(d).ok(['pull', `${badHost}/flaky/img:1`]);
    assert.match(ok, /Status: Downloaded newer image/);
    assert.ok((drops.get('flaky') ?? 0) >= 2);
    await cli(d).ok(['rmi', `${badHost}/flaky/img:1`]);
    const before = await layerCount(d);
    const err = await cli(d).fail(['pull', `${badHost}/dead/img:1`]);
    assert.match(err, /unexpected EOF/);
    assert.equal(drops.get('dead'), 5, 'dockerd\'s five download attempts');
    assert.equal(await layerCount(d), before);
    assert.equal((await cli(d).ok(['images', '-q'])).trim(), '');
    assert.deepEqual((await readdir(join(d.dir, 'data', 'image', 'vfs', 'tmp'))).filter((n) => n.startsWith('GetImageBlob')), []);
  });
});

/** Starts a pull through the API and hangs up once a layer is downloading; `probe` runs at that moment. */
function pullAndHangUp<T>(socketPath: string, image: string, probe?: () => T): Promise<{ seen: string; atFirstProgress?: T }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, method: 'POST', path: `/images/create?fromImage=${encodeURIComponent(image)}&tag=1` }, (res) => {
      let seen = '';
      res.on('data', (d) => {
        seen += d;
        if (seen.includes('"Downloading"')) {
          const atFirstProgress = probe?.();
          req.destroy();
          resolve({ seen, atFirstProgress });
        }
      });
      res.on('end', () => resolve({ seen }));
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    req.end();
  });
}

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
}

function proxy(port: number, path: string, method: string, res: import('node:http').ServerResponse): void {
  const up = httpRequest({ host: '127.0.0.1', port, path, method, headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  up.end();
}
