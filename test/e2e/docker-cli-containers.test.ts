import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCliAvailable, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { importBusybox } from './containers/bbox-image.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : false;

for (const driver of ['vfs', 'overlay2']) {
  describe(`docker create/ps/inspect/rename/rm on ${driver}`, { skip }, () => {
    let d: BerthdProcess;
    before(async () => {
      d = await startBerthd({ 'storage-driver': driver });
      await importBusybox(d);
    });
    after(async () => { await d.stop(); });

    it('creates a container from an imported image and lists it', () => {
      const c = d.docker(['create', '--name', 'web', '-l', 'tier=front', '-e', 'A=1', 'bbox:1', 'echo', 'hi']);
      assert.equal(c.status, 0, c.stderr);
      const id = c.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(d.docker(['ps', '-q']).stdout, '', 'a created container is not running');
      const ps = d.docker(['ps', '-a', '--format', '{{.Names}} {{.Image}} {{.Status}} {{.Command}} {{.Labels}}']);
      assert.equal(ps.stdout.trim(), 'web bbox:1 Created "echo hi" tier=front');
      const insp = d.docker(['inspect', '--format', '{{.Name}} {{.State.Status}} {{.Path}} {{json .Args}} {{.Config.Hostname}} {{.Driver}}', 'web']);
      assert.equal(insp.stdout.trim(), `/web created echo ["hi"] ${id.slice(0, 12)} ${driver}`);
      const env = d.docker(['inspect', '--format', '{{json .Config.Env}}', id.slice(0, 10)]);
      assert.equal(env.stdout.trim(), '["A=1"]');
    });

    it('refuses a used name and a one-letter name with dockerd wording', () => {
      const dup = d.docker(['create', '--name', 'web', 'bbox:1']);
      assert.equal(dup.status, 1); // `docker create` exits 1 on a daemon error (only `run` uses 125)
      assert.match(dup.stderr, /Conflict\. The container name "\/web" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\./);
      const bad = d.docker(['create', '--name', 'x', 'bbox:1']);
      assert.match(bad.stderr, /Invalid container name \(x\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_\.-\] are allowed/);
    });

    it('answers a missing image with 404 No such image', () => {
      const r = d.docker(['create', '--pull', 'never', 'nope:9']);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /No such image: nope:9/);
    });

    it('renames, filters, removes and prunes', () => {
      assert.equal(d.docker(['rename', 'web', 'web2']).status, 0);
      assert.equal(d.docker(['ps', '-a', '--filter', 'name=web2', '--format', '{{.Names}}']).stdout.trim(), 'web2');
      assert.equal(d.docker(['create', '--name', 'other', 'bbox:1']).status, 0);
      assert.equal(d.docker(['ps', '-a', '--filter', 'label=tier=front', '--format', '{{.Names}}']).stdout.trim(), 'web2');
      const rm = d.docker(['rm', 'web2']);
      assert.equal(rm.status, 0, rm.stderr);
      assert.equal(rm.stdout.trim(), 'web2');
      const gone = d.docker(['inspect', 'web2']);
      assert.equal(gone.status, 1);
      assert.match(gone.stderr, /No such object: web2/);
      const prune = d.docker(['container', 'prune', '-f']);
      assert.equal(prune.status, 0, prune.stderr);
      assert.match(prune.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
      assert.equal(d.docker(['ps', '-aq']).stdout, '');
    });

    it('keeps containers across a daemon restart', async () => {
      assert.equal(d.docker(['create', '--name', 'keeper', 'bbox:1']).status, 0);
      await d.restart();
      assert.equal(d.docker(['ps', '-a', '--format', '{{.Names}}']).stdout.trim(), 'keeper');
      await d.restart({ kill: true });
      assert.equal(d.docker(['ps', '-a', '--format', '{{.Names}}']).stdout.trim(), 'keeper');
    });
  });
}
