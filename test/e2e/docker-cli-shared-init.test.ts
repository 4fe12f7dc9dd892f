import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { containerDaemonSuite, containerE2eSkip as skip } from './containers/daemon-suite.js';

/**
 * The containers of one image share one init layer (plugins/container-service/
 * shared-init-layers.ts). What a container sees and what diff, export and
 * commit give must be what a private init layer gave (dockerd's outputs for
 * the same commands, checked against dockerd 20.10 on this machine).
 */
describe('containers of one image on a shared init layer, with the real CLI', { skip }, () => {
  const suite = containerDaemonSuite();
  const ok = suite.ok;
  const data = () => join(suite.c.d.dir, 'data');
  const driver = () => ok(['info', '--format', '{{.Driver}}']).trim();
  const initLayerOf = (name: string) => {
    const id = ok(['inspect', '-f', '{{.Id}}', name]).trim();
    return (JSON.parse(readFileSync(join(data(), 'containers', id, 'config.v2.json'), 'utf8')) as { InitLayer?: string }).InitLayer;
  };
  const markers = () => {
    const dir = join(data(), 'containers', '.init-layers', driver());
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  const holds = () => readdirSync(join(data(), 'image', driver(), 'layerdb', 'mounts'));

  it('each container sees its own hostname, hosts and /etc writes; both sit on one init layer, kept idle after the last', () => {
    ok(['run', '--name', 'one', '--hostname', 'host-one', 'bbox:1', 'sh', '-c', 'echo mine > /etc/only-one; echo added >> /etc/hosts']);
    ok(['create', '--name', 'two', 'bbox:1', 'sh', '-c', 'cat /etc/hostname; grep -c added /etc/hosts; ls /etc/only-one; ls -a / | grep -c dockerenv']);
    const shared = initLayerOf('one');
    assert.ok(shared, 'the record names the shared init layer');
    assert.equal(initLayerOf('two'), shared, 'one init layer for both');
    assert.deepEqual(markers(), [shared]);
    assert.deepEqual(readdirSync(join(data(), 'image', driver(), 'layerdb', 'mounts')), [shared], 'the image is held once, by the shared init layer');
    if (driver() === 'overlay2') {
      const layers = readdirSync(join(data(), 'overlay2')).filter((e) => e.endsWith('-init'));
      assert.deepEqual(layers, [shared], 'no per-container init layer');
    }
    const two = spawnSync('docker', ['start', '-a', 'two'], { env: { ...process.env, DOCKER_HOST: `unix://${suite.c.d.socket}`, DOCKER_CONFIG: join(suite.c.d.dir, 'docker-config') }, encoding: 'utf8' });
    const shortTwo = ok(['inspect', '-f', '{{.Id}}', 'two']).trim().slice(0, 12);
    // Its own hostname; the other's /etc/hosts line and /etc file are not there; .dockerenv is.
    assert.equal(two.stdout, `${shortTwo}\n0\n1\n`);
    assert.match(two.stderr, /only-one: No such file or directory/);
    assert.equal(ok(['start', '-a', 'one']), '', 'the first one still runs');
    assert.equal(ok(['run', '--rm', 'bbox:1', 'cat', '/etc/hostname']).length, 13, 'a third one (--rm) has its own hostname too');
    ok(['rm', 'one']);
    assert.deepEqual(markers(), [shared], 'kept while two uses it');
    ok(['rm', 'two']);
    assert.deepEqual(markers(), [shared], 'kept, idle, for the image\'s next container');
    assert.deepEqual(holds(), [shared], 'with its one hold on the image');
    ok(['run', '--name', 'three', 'bbox:1', 'true']);
    assert.equal(initLayerOf('three'), shared, 'the next container takes it as it is');
    ok(['rm', 'three']);
    assert.deepEqual(markers(), [shared]);
  });

  it('an idle init layer goes with its image: docker rmi deletes the image and its layer, as dockerd does', () => {
    ok(['run', '--name', 'base', 'bbox:1', 'sh', '-c', 'echo made > /made-here']);
    ok(['commit', 'base', 'idle:1']);
    ok(['rm', 'base']);
    const before = markers();
    assert.equal(ok(['run', '--rm', 'idle:1', 'cat', '/made-here']), 'made\n');
    const own = markers().filter((m) => !before.includes(m));
    assert.equal(own.length, 1, 'the committed image has an init layer of its own, idle after --rm');
    assert.ok(holds().includes(own[0]!));
    // The image and the committed layer are deleted (the idle init layer's hold no longer keeps the layer).
    const out = ok(['rmi', 'idle:1']).trim().split('\n');
    assert.equal(out[0], 'Untagged: idle:1');
    assert.equal(out.filter((l) => l.startsWith('Deleted: sha256:')).length, 2, out.join('\n'));
    assert.deepEqual(markers(), before, 'the idle init layer is gone');
    assert.ok(!holds().includes(own[0]!), 'and its hold');
    if (driver() === 'overlay2') assert.ok(!readdirSync(join(data(), 'overlay2')).includes(own[0]!));
  });

  it('docker diff, export and commit give what dockerd gives', () => {
    ok(['create', '--name', 'fresh', 'bbox:1', 'true']);
    assert.equal(ok(['diff', 'fresh']), '', 'a created container has no changes (the placeholders are not its own)');
    ok(['start', '-a', 'fresh']);
    assert.equal(ok(['diff', 'fresh']), '', 'nor after it ran');
    ok(['run', '--name', 'changer', 'bbox:1', 'sh', '-c', 'echo x > /etc/foo; echo y >> /etc/hosts; mkdir -p /newdir/sub; rm /bin/ls']);
    // dockerd 20.10 lists the same six lines (in its own order); /etc/hosts is a bind mount, not a change.
    assert.deepEqual(ok(['diff', 'changer']).trim().split('\n').sort(), ['A /etc/foo', 'A /newdir', 'A /newdir/sub', 'C /bin', 'C /etc', 'D /bin/ls']);
    // export: the merged root, with the init layer's placeholders (empty /etc files, /.dockerenv, /dev/console).
    const env = { ...process.env, DOCKER_HOST: `unix://${suite.c.d.socket}`, DOCKER_CONFIG: join(suite.c.d.dir, 'docker-config') };
    const listing = spawnSync('sh', ['-c', 'docker export changer | tar -tv'], { env, encoding: 'utf8' });
    assert.equal(listing.status, 0, listing.stderr);
    const sizes = Object.fromEntries(listing.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)).map((f) => [f[5]!.replace(/\/$/, ''), f[2]]));
    for (const p of ['.dockerenv', 'dev/console', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf']) assert.equal(sizes[p], '0', `${p}: an empty placeholder in the export`);
    for (const p of ['dev/pts', 'dev/shm', 'proc', 'sys', 'etc/foo', 'newdir/sub']) assert.ok(p in sizes, `${p} in the export`);
    assert.ok(!('bin/ls' in sizes), 'a deleted file is not exported');
    // commit: the container's changes only, none of the placeholders.
    ok(['commit', 'changer', 'changed:1']);
    assert.equal(ok(['run', '--rm', 'changed:1', 'sh', '-c', 'cat /etc/foo; ls /bin/ls 2>/dev/null; ls -d /newdir/sub; wc -c < /etc/hostname']), 'x\n/newdir/sub\n13\n');
    assert.equal(ok(['history', '-q', 'changed:1']).trim().split('\n').length, 2);
    const dir = join(suite.c.d.dir, 'saved');
    const saved = spawnSync('sh', ['-c', `mkdir -p ${dir} && docker save changed:1 | tar -x -C ${dir}`], { env, encoding: 'utf8' });
    assert.equal(saved.status, 0, saved.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const top = spawnSync('tar', ['-tf', join(dir, manifest[0]!.Layers.at(-1)!)], { encoding: 'utf8' });
    const names = top.stdout.trim().split('\n');
    for (const p of ['etc/foo', 'bin/.wh.ls', 'newdir/sub/']) assert.ok(names.includes(p), `${p} in the committed layer (${names.join(' ')})`);
    for (const p of ['.dockerenv', 'etc/hostname', 'etc/hosts', 'dev/console']) assert.ok(!names.includes(p), `${p} not in the committed layer`);
    ok(['rm', 'fresh', 'changer']);
    ok(['rmi', 'changed:1']);
  });
});
