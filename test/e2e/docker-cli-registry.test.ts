import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable, busyboxRootfsTar } from '../helpers/busybox-rootfs.js';
import { configFor, dockerArchive, fileLayer, nodeSha } from '../helpers/image-archives.js';
import { dockerAsync, registryAvailable, startRegistry, type LocalRegistry } from '../helpers/registry-server.js';
import { putManifest, startCorruptingProxy, uploadImage, type TestServer } from '../helpers/registry-proxies.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed'
  : !busyboxAvailable ? 'busybox-static is not installed'
  : !registryAvailable ? 'docker-registry is not installed (scripts/os-packages.txt)' : false;

/** The docker CLI against a daemon, without blocking the event loop (in-process proxies keep serving). */
function cli(d: BerthdProcess) {
  const cfg = join(d.dir, 'docker-config');
  const run = (args: string[], opts: { input?: string | Buffer } = {}) => dockerAsync(d.socket, cfg, args, opts);
  return {
    run,
    async ok(args: string[], opts: { input?: string | Buffer } = {}) {
      const r = await run(args, opts);
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async fail(args: string[]) {
      const r = await run(args);
      assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail: ${r.stdout}`);
      return r.stderr;
    },
  };
}

/** Layers a daemon holds (layerdb entries): a failed pull must not leave any behind. */
async function layerCount(d: BerthdProcess): Promise<number> {
  return (await readdir(join(d.dir, 'data', 'image', 'vfs', 'layerdb', 'sha256')).catch(() => [])).length;
}

describe('docker push / pull against a local open registry', { skip }, () => {
  let reg: LocalRegistry;
  let a: BerthdProcess;
  let b: BerthdProcess;
  let rootfs: Awaited<ReturnType<typeof busyboxRootfsTar>>;
  let bbId = '';
  let pushedDigest = '';

  before(async () => {
    reg = await startRegistry();
    a = await startBerthd({ 'storage-driver': 'vfs' });
    b = await startBerthd({ 'storage-driver': 'vfs', 'max-concurrent-downloads': 2 });
    rootfs = await busyboxRootfsTar();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await reg?.stop();
    await rootfs?.cleanup();
  });

  it('docker push prints dockerd\'s lines, and a second push gives the same digest', async () => {
    const A = cli(a);
    bbId = (await A.ok(['import', '-c', 'CMD ["/bin/sh"]', rootfs.tar, `${reg.host}/team/bb:1`])).trim();
    const out = await A.ok(['push', `${reg.host}/team/bb:1`]);
    assert.match(out, new RegExp(`^The push refers to repository \\[${reg.host}/team/bb\\]$`, 'm'));
    assert.match(out, /^[0-9a-f]{12}: Pushed$/m);
    const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(out);
    assert.ok(m, out);
    pushedDigest = m[1]!;
    const again = await A.ok(['push', `${reg.host}/team/bb:1`]);
    assert.match(again, /^[0-9a-f]{12}: Layer already exists$/m);
    assert.match(again, new RegExp(`^1: digest: ${m[1]} size: ${m[2]}$`, 'm'));
    // The registry holds a gzip layer whose digest is what the manifest names.
    const manifest = await (await fetch(`http://${reg.host}/v2/team/bb/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json() as { layers: Array<{ digest: string; mediaType: string }> };
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    const blob = Buffer.from(await (await fetch(`http://${reg.host}/v2/team/bb/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
    assert.equal(nodeSha(blob), manifest.layers[0]!.digest);
    assert.deepEqual([...blob.subarray(0, 2)], [0x1f, 0x8b]);
    // The pushed image now has its repo digest locally.
    assert.match(await A.ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', bbId]), new RegExp(`team/bb@${m[1]}`));
  });

  it('docker pull by tag gives the same image ID with dockerd\'s progress lines; a second pull is up to date', async () => {
    const B = cli(b);
    const out = await B.ok(['pull', `${reg.host}/team/bb:1`]);
    assert.match(out, /^1: Pulling from team\/bb$/m);
    assert.match(out, /^[0-9a-f]{12}: Pull complete$/m);
    assert.match(out, new RegExp(`^Digest: ${pushedDigest}$`, 'm'));
    assert.match(out, new RegExp(`^Status: Downloaded newer image for ${reg.host}/team/bb:1$`, 'm'));
    assert.equal((await B.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/team/bb:1`])).trim(), bbId);
    const again = await B.ok(['pull', `${reg.host}/team/bb:1`]);
    assert.match(again, new RegExp(`^Status: Image is up to date for ${reg.host}/team/bb:1$`, 'm'));
    assert.doesNotMatch(again, /Pull complete/);
    assert.equal((await B.ok(['run', '--rm', `${reg.host}/team/bb:1`, 'echo', 'pulled ok'])).trim(), 'pulled ok');
  });

  it('the JSON stream carries progressDetail for the CLI\'s bars', async () => {
    await cli(b).ok(['rmi', `${reg.host}/team/bb:1`]); // its digest reference goes with the last tag, as in dockerd
    const res = await fetchSocket(b.socket, `/images/create?fromImage=${encodeURIComponent(`${reg.host}/team/bb`)}&tag=1`);
    const msgs = res.split('\r\n').filter(Boolean).map((l) => JSON.parse(l) as { status?: string; id?: string; progressDetail?: { current?: number; total?: number } });
    const statuses = msgs.map((m) => m.status);
    for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) assert.ok(statuses.includes(s), `missing ${s}: ${statuses.join(', ')}`);
    const dl = msgs.filter((m) => m.status === 'Downloading');
    assert.ok(dl.every((m) => (m.progressDetail?.total ?? 0) > 0 && (m.progressDetail?.current ?? 0) > 0));
    assert.deepEqual(msgs.find((m) => m.status === 'Pulling fs layer')!.progressDetail, {});
    assert.equal(msgs.find((m) => m.status?.startsWith('Pulling from'))!.progressDetail, undefined);
  });

  it('docker pull by digest, and docker images --digests', async () => {
    const B = cli(b);
    const out = await B.ok(['pull', `${reg.host}/team/bb@${pushedDigest}`]);
    assert.match(out, new RegExp(`^${pushedDigest}: Pulling from team/bb$`, 'm'));
    assert.match(out, new RegExp(`^Status: (Image is up to date|Downloaded newer image) for ${reg.host}/team/bb@${pushedDigest}$`, 'm'));
    assert.match(await B.ok(['images', '--digests', '--format', '{{.Repository}} {{.Digest}}']), new RegExp(`${reg.host}/team/bb ${pushedDigest}`));
  });

  it('docker run of an image that is not local pulls it first', async () => {
    const B = cli(b);
    await B.ok(['tag', `${reg.host}/team/bb:1`, `${reg.host}/team/other:7`]);
    await cli(a).ok(['tag', bbId, `${reg.host}/team/runme:latest`]);
    await cli(a).ok(['push', `${reg.host}/team/runme`]);
    const r = await B.run(['run', '--rm', `${reg.host}/team/runme`, 'echo', 'ran']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Unable to find image '${reg.host}/team/runme:latest' locally`));
    assert.equal(r.stdout.trim().split('\n').pop(), 'ran');
  });

  it('a missing tag or repository gets dockerd\'s errors and status', async () => {
    const B = cli(b);
    assert.match(await B.fail(['pull', `${reg.host}/team/bb:nope`]), new RegExp(`Error response from daemon: manifest for ${reg.host}/team/bb:nope not found: manifest unknown: manifest unknown`));
    const missing = await B.fail(['pull', `${reg.host}/no/such`]);
    assert.match(missing, /Error response from daemon: (manifest for .* not found: manifest unknown|repository .* not found: name unknown)/);
    assert.match(await B.fail(['push', `${reg.host}/team/absent:1`]), /An image does not exist locally with the tag: .*team\/absent/);
  });

  it('a multi-layer image loaded on one daemon and pulled on another: same ID, shared base layer "Already exists"', async () => {
    const A = cli(a);
    const B = cli(b);
    const l1 = await fileLayer('base.txt', 'base layer\n'.repeat(5000));
    const l2 = await fileLayer('mid.txt', 'middle layer\n'.repeat(3000));
    const l3 = await fileLayer('top.txt', 'top\n');
    const base = configFor([l1]);
    const full = configFor([l1, l2, l3]);
    const archive = await dockerArchive([{ config: base, layers: [l1], repoTags: [`${reg.host}/ml/base:1`] }, { config: full, layers: [l1, l2, l3], repoTags: [`${reg.host}/ml/full:1`] }]);
    await A.ok(['load'], { input: archive });
    await A.ok(['push', `${reg.host}/ml/base:1`]);
    const pushFull = await A.ok(['push', `${reg.host}/ml/full:1`]);
    assert.match(pushFull, /: Mounted from ml\/base$|: Layer already exists$/m);
    await B.ok(['pull', `${reg.host}/ml/base:1`]);
    const out = await B.ok(['pull', `${reg.host}/ml/full:1`]);
    assert.equal((out.match(/: Already exists$/gm) ?? []).length, 1, out);
    assert.equal((out.match(/: Pull complete$/gm) ?? []).length, 2, out);
    assert.equal((await B.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/ml/full:1`])).trim(), nodeSha(full));
    assert.equal((await B.ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', `${reg.host}/ml/full:1`])).trim(), JSON.stringify([l1, l2, l3].map((l) => nodeSha(l))));
  });

  it('docker push --all-tags pushes every tag of the repository', async () => {
    const A = cli(a);
    await A.ok(['tag', bbId, `${reg.host}/all/bb:a`]);
    await A.ok(['tag', bbId, `${reg.host}/all/bb:b`]);
    const out = await A.ok(['push', '--all-tags', `${reg.host}/all/bb`]);
    assert.match(out, /^a: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    assert.match(out, /^b: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    const tags = await (await fetch(`http://${reg.host}/v2/all/bb/tags/list`)).json() as { tags: string[] };
    assert.deepEqual(tags.tags.sort(), ['a', 'b']);
  });

  it('a multi-platform index: amd64 by default, --platform picks another entry', async () => {
    const B = cli(b);
    const amdLayer = await fileLayer('arch', 'amd64\n');
    const armLayer = await fileLayer('arch', 'arm64\n');
    const amd = await uploadImage(reg.host, 'multi/img', [amdLayer], configFor([amdLayer], { architecture: 'amd64' }));
    const arm = await uploadImage(reg.host, 'multi/img', [armLayer], configFor([armLayer], { architecture: 'arm64', variant: 'v8' }), { oci: true });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.digest, size: arm.manifest.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: amd.digest, size: amd.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }));
    const indexDigest = await putManifest(reg.host, 'multi/img', 'v1', 'application/vnd.oci.image.index.v1+json', index);
    const out = await B.ok(['pull', `${reg.host}/multi/img:v1`]);
    assert.match(out, new RegExp(`^Digest: ${indexDigest}$`, 'm'));
    assert.equal((await B.ok(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', `${reg.host}/multi/img:v1`])).trim(), `${amd.configId} amd64`);
    await B.ok(['pull', '--platform', 'linux/arm64', `${reg.host}/multi/img:v1`]);
    assert.equal((await B.ok(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', `${reg.host}/multi/img:v1`])).trim(), `${arm.configId} arm64`);
    assert.match(await B.fail(['pull', '--platform', 'linux/s390x', `${reg.host}/multi/img:v1`]), /no matching manifest for linux\/s390x in the manifest list entries/);
    const inspect = JSON.parse(await fetchSocket(b.socket, `/distribution/${reg.host}/multi/img:v1/json`, 'GET')) as { Descriptor: { digest: string }; Platforms: Array<{ architecture: string }> };
    assert.equal(inspect.Descriptor.digest, indexDigest);
    assert.deepEqual(inspect.Platforms.map((p) => p.architecture), ['arm64', 'amd64']);
  });

  describe('a registry that serves corrupt blobs', () => {
    let proxy: TestServer;
    before(async () => { proxy = await startCorruptingProxy(reg.port); });
    after(async () => { await proxy?.close(); });

    it('the pull fails with dockerd\'s message and leaves no image and no layer', async () => {
      const B = cli(b);
      const layer = await fileLayer('big.bin', randomBytes(48 * 1024).toString('base64'));
      const up = await uploadImage(reg.host, 'bad/img', [layer], configFor([layer], { comment: 'corrupt' }), { tag: 't' });
      const before = await layerCount(b);
      // The proxy is on 127.0.0.1 too, so the loopback rule makes it insecure (plain HTTP) by default.
      const err = await B.fail(['pull', `${proxy.host}/bad/img:t`]);
      assert.match(err, /filesystem layer verification failed for digest sha256:[0-9a-f]{64}/);
      assert.equal(await layerCount(b), before);
      assert.doesNotMatch(await B.ok(['images', '-q', '--no-trunc']), new RegExp(up.configId));
    });
  });
});

/** One request to the daemon's socket; returns the body. */
function fetchSocket(socketPath: string, path: string, method = 'POST'): Promise<string> {
  return import('node:http').then(({ request }) => new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  }));
}
