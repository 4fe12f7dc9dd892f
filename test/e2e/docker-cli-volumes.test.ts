import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerCliAvailable, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';

const skip = dockerCliAvailable ? false : 'the docker CLI is not installed';

describe('docker volume commands against berthd', { skip }, () => {
  let d: BerthdProcess;
  const ok = (args: string[]) => {
    const r = d.docker(args);
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = (args: string[]) => {
    const r = d.docker(args);
    assert.equal(r.status, 1, `docker ${args.join(' ')} should fail: ${r.stdout}`);
    return r.stderr;
  };
  before(async () => { d = await startBerthd(); });
  after(async () => { await d.stop(); });

  it('creates named volumes with labels, and tmpfs volumes with driver options', () => {
    assert.equal(ok(['volume', 'create', '--label', 'app=web', '--label', 'tier=front', 'web-data']), 'web-data\n');
    assert.equal(ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'scratch']), 'scratch\n');
    assert.equal(ok(['volume', 'create', 'web-data']), 'web-data\n', 'creating it again is fine');
    assert.ok(existsSync(join(d.dir, 'data', 'volumes', 'web-data', '_data')));
    assert.ok(existsSync(join(d.dir, 'data', 'volumes', 'scratch', 'opts.json')));
  });

  it('docker volume inspect shows what dockerd shows', () => {
    const [v] = JSON.parse(ok(['volume', 'inspect', 'web-data'])) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(v!).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.deepEqual(v!.Labels, { app: 'web', tier: 'front' });
    assert.equal(v!.Mountpoint, join(d.dir, 'data', 'volumes', 'web-data', '_data'));
    assert.equal(v!.Options, null);
    const f = ok(['volume', 'inspect', '--format', '{{.Driver}} {{.Scope}} {{.Options.type}} {{.Options.device}} {{.Options.o}}', 'scratch']);
    assert.equal(f, 'local local tmpfs tmpfs size=1m\n');
    assert.match(ok(['volume', 'inspect', '--format', '{{.CreatedAt}}', 'scratch']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n$/);
    assert.equal(ok(['inspect', '--format', '{{.Name}}', 'web-data']), 'web-data\n', 'plain docker inspect finds volumes too');
  });

  it('docker volume ls with --filter and --format', () => {
    const table = ok(['volume', 'ls']);
    assert.match(table, /^DRIVER\s+VOLUME NAME\n/);
    assert.match(table, /^local\s+scratch$/m);
    assert.match(table, /^local\s+web-data$/m);
    assert.equal(ok(['volume', 'ls', '--filter', 'label=app=web', '--format', '{{.Name}}']), 'web-data\n');
    assert.equal(ok(['volume', 'ls', '--filter', 'name=scr', '--format', '{{.Name}} {{.Driver}}']), 'scratch local\n');
    assert.equal(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']).split('\n').filter(Boolean).sort().join(','), 'scratch,web-data');
    assert.equal(ok(['volume', 'ls', '--format', '{{.Label "tier"}}', '--filter', 'label=tier']), 'front\n');
    assert.equal(ok(['volume', 'ls', '--filter', 'driver=nfs', '-q']), '');
  });

  it('errors print exactly as against dockerd', () => {
    assert.equal(fails(['volume', 'rm', 'nope']), 'Error response from daemon: get nope: no such volume\n');
    assert.equal(fails(['volume', 'inspect', 'nope']), 'Error response from daemon: get nope: no such volume\n');
    assert.equal(fails(['volume', 'create', '-d', 'nfsplug', 'remote']),
      'Error response from daemon: create remote: error looking up volume plugin nfsplug: plugin "nfsplug" not found\n');
    assert.equal(fails(['volume', 'create', 'x']),
      'Error response from daemon: create x: volume name is too short, names should be at least two alphanumeric characters\n');
    assert.equal(fails(['volume', 'create', '-o', 'colour=blue', 'painted']), 'Error response from daemon: create painted: invalid option: "colour"\n');
    assert.equal(fails(['volume', 'create', '-o', 'type=tmpfs', 'half']), 'Error response from daemon: create half: missing required option: "device"\n');
    assert.equal(fails(['volume', 'ls', '--filter', 'colour=blue']), "Error response from daemon: Invalid filter 'colour'\n");
  });

  it('docker system df counts local volumes without options', () => {
    const out = ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']);
    assert.match(out, /^Local Volumes=1$/m);
  });

  it('docker volume prune -f removes unused anonymous volumes only; -a takes named ones too', async () => {
    const anon = ok(['volume', 'create']).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    await writeFile(join(d.dir, 'data', 'volumes', anon, '_data', 'blob'), Buffer.alloc(2048));
    assert.equal(ok(['volume', 'inspect', '--format', '{{index .Labels "com.docker.volume.anonymous"}}|', anon]), '|\n');
    const pruned = ok(['volume', 'prune', '-f']);
    assert.equal(pruned, `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 2.048kB\n`);
    assert.equal(ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    ok(['volume', 'create', 'keepme', '--label', 'keep=1']);
    const all = ok(['volume', 'prune', '-a', '-f', '--filter', 'label!=keep']);
    assert.equal(all, 'Deleted Volumes:\nweb-data\n\nTotal reclaimed space: 0B\n', 'scratch has driver options and stays; keepme is filtered out');
    assert.equal(ok(['volume', 'ls', '-q']).split('\n').filter(Boolean).sort().join(','), 'keepme,scratch');
  });

  it('docker volume rm removes, and volumes survive a daemon restart (even kill -9)', async () => {
    assert.equal(ok(['volume', 'rm', 'keepme']), 'keepme\n');
    assert.equal(existsSync(join(d.dir, 'data', 'volumes', 'keepme')), false);
    ok(['volume', 'create', '--label', 'persist=yes', 'durable']);
    const before = ok(['volume', 'inspect', 'durable']);
    await d.restart({ kill: true });
    assert.equal(ok(['volume', 'inspect', 'durable']), before);
    assert.equal(ok(['volume', 'inspect', '--format', '{{.Options.o}}', 'scratch']), 'size=1m\n');
    const meta = JSON.parse(await readFile(join(d.dir, 'data', 'volumes', 'durable', 'metadata.json'), 'utf8'));
    assert.deepEqual(meta.Labels, { persist: 'yes' });
    assert.match(ok(['info', '--format', '{{json .Plugins}}']), /"Volume":\["local"\].*"Log":\["json-file"\]/);
  });

  it('volume events reach docker events', () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    ok(['volume', 'create', 'evented']);
    ok(['volume', 'rm', 'evented']);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const out = ok(['events', '--since', since, '--until', until, '--filter', 'type=volume', '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}']);
    assert.match(out, /^create evented local\ndestroy evented local\n$/m);
  });
});
