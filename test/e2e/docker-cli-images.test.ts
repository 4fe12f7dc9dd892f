import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess, overlay2Supported } from '../helpers/berthd-process.js';
import { busyboxAvailable, busyboxRootfsTar } from '../helpers/busybox-rootfs.js';
import { configFor, dockerArchive, fileLayer, ociArchive, sha256sum } from '../helpers/image-archives.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : false;

const overlayOk = !skip && (await overlay2Supported());

for (const driver of ['vfs', 'overlay2']) {
  const driverSkip = skip || (driver === 'overlay2' && !overlayOk ? 'overlay2 is not supported here' : false);
  describe(`docker image commands against berthd (${driver})`, { skip: driverSkip }, () => {
    let d: BerthdProcess;
    let rootfs: Awaited<ReturnType<typeof busyboxRootfsTar>>;
    let bbId: string;
    const ok = (args: string[]) => {
      const r = d.docker(args);
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const fail = (args: string[]) => {
      const r = d.docker(args);
      assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail`);
      return r.stderr;
    };

    before(async () => {
      d = await startBerthd({ 'storage-driver': driver });
      rootfs = await busyboxRootfsTar();
    });
    after(async () => {
      await d?.stop();
      await rootfs?.cleanup();
    });

    it('docker import with --change and -m gives an image whose ID is the digest of its stored config', async () => {
      const out = ok(['import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV GREETING=hello', '-c', 'LABEL team=core', '-c', 'EXPOSE 8080',
        '-c', 'WORKDIR /srv', '-c', 'USER nobody', '-m', 'busybox rootfs', rootfs.tar, 'bb:1']);
      bbId = out.trim();
      assert.match(bbId, /^sha256:[0-9a-f]{64}$/);
      const stored = await readFile(join(d.dir, 'data', 'image', driver, 'imagedb', 'content', 'sha256', bbId.slice(7)));
      assert.equal(sha256sum(stored), bbId);
      const fmt = '{{.Os}}/{{.Architecture}} {{.Config.WorkingDir}} {{.Config.User}} {{json .Config.Env}} {{json .Config.Cmd}} {{json .Config.ExposedPorts}} {{.Comment}} {{.GraphDriver.Name}}';
      assert.equal(ok(['image', 'inspect', '--format', fmt, 'bb:1']).trim(),
        `linux/${process.arch === 'x64' ? 'amd64' : process.arch} /srv nobody ["GREETING=hello"] ["/bin/sh"] {"8080/tcp":{}} busybox rootfs ${driver}`);
      assert.equal(ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'bb:1']).trim(), JSON.stringify([sha256sum(await readFile(rootfs.tar))]));
    });

    it('docker tag and docker images with --format, filters and --digests', () => {
      ok(['tag', 'bb:1', 'bb:2']);
      ok(['tag', 'bb:1', 'localhost:5000/team/bb:3']);
      const plain = d.docker(['import', '-m', 'untagged', rootfs.tar]);
      assert.equal(plain.status, 0, plain.stderr);
      const danglingId = plain.stdout.trim();
      const list = ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']).trim().split('\n');
      assert.deepEqual(list.sort(), ['<none>:<none> ' + danglingId.slice(7, 19), `bb:1 ${bbId.slice(7, 19)}`, `bb:2 ${bbId.slice(7, 19)}`,
        `localhost:5000/team/bb:3 ${bbId.slice(7, 19)}`].sort());
      assert.equal(ok(['images', '-q', '--filter', 'dangling=true']).trim(), danglingId.slice(7, 19));
      assert.deepEqual(ok(['images', '--filter', 'label=team=core', '--format', '{{.Tag}}']).trim().split('\n').sort(), ['1', '2', '3']);
      assert.deepEqual(ok(['images', '--filter', 'reference=bb:*', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort(), ['bb:1', 'bb:2']);
      assert.equal(ok(['images', '--filter', 'since=bb:1', '-q']).trim(), danglingId.slice(7, 19));
      assert.deepEqual([...new Set(ok(['images', '--filter', `before=${danglingId.slice(7)}`, '-q']).trim().split('\n'))], [bbId.slice(7, 19)]);
      const digests = ok(['images', '--digests', 'bb']).trim().split('\n');
      assert.match(digests[0]!, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
      assert.match(digests[1]!, /^bb\s+[12]\s+<none>\s+[0-9a-f]{12}\s+.+\s+\d+(\.\d+)?MB$/);
      assert.match(fail(['images', '--filter', 'bogus=1']), /Error response from daemon: [Ii]nvalid filter 'bogus'/);
      ok(['rmi', danglingId]);
    });

    it('docker history shows the import row', () => {
      const rows = ok(['history', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Comment}}', 'bb:1']).trim().split('\n');
      assert.deepEqual(rows, [`${bbId.slice(7, 19)}||busybox rootfs`]);
      assert.equal(ok(['history', '--no-trunc', '-q', 'bb:2']).trim(), bbId);
      assert.match(fail(['history', 'nope']), /No such image: nope:latest/);
    });

    it('docker save, docker rmi, docker load give back the same image ID and tags', async () => {
      const archive = join(d.dir, 'bb.tar');
      ok(['save', '-o', archive, 'bb:1', 'bb:2']);
      assert.ok(existsSync(archive));
      const rmi = ok(['rmi', 'bb:1', 'bb:2', 'localhost:5000/team/bb:3']).trim().split('\n');
      assert.deepEqual(rmi.slice(0, 4), ['Untagged: bb:1', 'Untagged: bb:2', 'Untagged: localhost:5000/team/bb:3', `Deleted: ${bbId}`]);
      assert.equal(ok(['images', '-q']).trim(), '');
      const load = ok(['load', '-i', archive]).trim().split('\n');
      assert.deepEqual(load.sort(), ['Loaded image: bb:1', 'Loaded image: bb:2']);
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}}', 'bb:2']).trim(), bbId);
      assert.deepEqual(ok(['images', '--format', '{{.Tag}}']).trim().split('\n').sort(), ['1', '2']);
    });

    it('docker load of hand-made archives: docker-archive and OCI layout keep the config digest as ID', async () => {
      const layers = [await fileLayer('hello.txt', 'hello from a fixture\n')];
      const config = configFor(layers);
      const dockerTar = join(d.dir, 'fixture-docker.tar');
      await writeFile(dockerTar, await dockerArchive([{ config, layers, repoTags: ['fixture:docker'] }]));
      assert.equal(ok(['load', '-i', dockerTar]).trim(), 'Loaded image: fixture:docker');
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}} {{index .Config.Labels "fixture"}}', 'fixture:docker']).trim(), `${sha256sum(config)} yes`);

      const ociConfig = configFor(layers, { author: 'oci' });
      const ociTar = join(d.dir, 'fixture-oci.tar');
      await writeFile(ociTar, await ociArchive([{ config: ociConfig, layers, repoTags: ['docker.io/library/fixture:oci'] }]));
      assert.equal(ok(['load', '-i', ociTar]).trim(), 'Loaded image: fixture:oci');
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}} {{.Author}}', 'fixture:oci']).trim(), `${sha256sum(ociConfig)} oci`);
      assert.equal(ok(['history', '--format', '{{.CreatedBy}}', 'fixture:oci']).trim(), 'layer 0');

      const broken = join(d.dir, 'broken.tar');
      await writeFile(broken, (await readFile(dockerTar)).subarray(0, 700));
      assert.match(fail(['load', '-i', broken]), /invalid archive|unexpected EOF/i);
    });

    it('docker rmi refuses a multiply-tagged ID unless forced; rmi of an unknown name is a 404', () => {
      const short = bbId.slice(7, 19);
      assert.match(fail(['rmi', short]), new RegExp(`Error response from daemon: conflict: unable to delete ${short} \\(must be forced\\) - image is referenced in multiple repositories`));
      assert.match(fail(['rmi', 'nope']), /Error response from daemon: No such image: nope:latest/);
      const forced = ok(['rmi', '-f', short]).trim().split('\n');
      assert.deepEqual(forced.slice(0, 3), ['Untagged: bb:1', 'Untagged: bb:2', `Deleted: ${bbId}`]);
      assert.equal(d.docker(['image', 'inspect', 'bb:1']).status, 1);
    });

    it('docker image prune -f removes dangling images and reports the space', () => {
      const id = ok(['import', rootfs.tar]).trim();
      const out = ok(['image', 'prune', '-f']);
      assert.match(out, new RegExp(`^Deleted Images:\\ndeleted: ${id}\\n`));
      assert.match(out, /Total reclaimed space: \d+(\.\d+)?MB/);
      assert.equal(ok(['images', '-q', '--filter', 'dangling=true']).trim(), '');
      assert.match(ok(['image', 'prune', '-a', '-f', '--filter', 'label=nothing']), /Total reclaimed space: 0B/);
    });

    it('docker events shows the image actions as dockerd names them', () => {
      const until = String(Math.floor(Date.now() / 1000) + 1);
      const actions = new Set(ok(['events', '--since', '10m', '--until', until, '--filter', 'type=image', '--format', '{{.Action}}']).trim().split('\n'));
      for (const a of ['import', 'tag', 'untag', 'delete', 'save', 'load', 'prune']) assert.ok(actions.has(a), `${a} in ${[...actions].join(',')}`);
      const tagged = ok(['events', '--since', '10m', '--until', until, '--filter', 'event=tag', '--format', '{{.Actor.Attributes.name}} {{.Actor.Attributes.team}}']);
      assert.match(tagged, /^bb:2 core$/m, 'tag events carry the name and the image labels');
    });

    it('images survive a kill -9 and show up in docker system df', async () => {
      ok(['import', '-c', 'LABEL keep=1', rootfs.tar, 'survivor:1']);
      await d.restart({ kill: true });
      assert.equal(ok(['images', '--format', '{{.Repository}}:{{.Tag}}', 'survivor']).trim(), 'survivor:1');
      assert.match(ok(['system', 'df']), /^Images\s+\d+\s+0\s+\d/m);
      assert.equal(ok(['image', 'inspect', '--format', '{{index .Config.Labels "keep"}}', 'survivor:1']).trim(), '1');
    });

    it('docker pull from a registry that does not answer gets dockerd\'s error (HTTPS, then HTTP for loopback)', () => {
      const r = d.docker(['pull', '127.0.0.1:1/alpine:3.19']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Error response from daemon: Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
    });
  });
}
