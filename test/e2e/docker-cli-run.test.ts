import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerAsync, startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

describe('docker run with the real CLI', { skip }, () => {
  let c: ContainerDaemon;
  before(async () => { c = await startContainerDaemon(); });
  after(async () => { await c?.stop(); });

  it('docker run --rm prints the output, exits 0 and leaves no container', () => {
    const r = c.d.docker(['run', '--rm', 'bbox:1', 'echo', 'hi']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(c.d.docker(['ps', '-aq']).stdout, '', '--rm removed it before `wait` returned');
  });

  it('keeps stdout and stderr apart', () => {
    const r = c.d.docker(['run', '--rm', 'bbox:1', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('exits with the container exit code and records it', () => {
    const r = c.d.docker(['run', '--name', 'three', 'bbox:1', 'sh', '-c', 'exit 3']);
    assert.equal(r.status, 3);
    const insp = c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}', 'three']);
    assert.equal(insp.stdout.trim(), 'exited 3 false');
    assert.match(c.d.docker(['ps', '-a', '--filter', 'name=three', '--format', '{{.Status}}']).stdout, /^Exited \(3\) /);
  });

  it('a missing binary exits 127 with the runtime message, a non-executable 126', () => {
    const missing = c.d.docker(['run', '--name', 'missing', 'bbox:1', 'no-such-binary']);
    assert.equal(missing.status, 127);
    assert.match(missing.stderr, /executable file not found in \$PATH/);
    const insp = c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'missing']);
    assert.match(insp.stdout, /^created 127 .*no-such-binary/, 'dockerd leaves a never-started container "created"');
    const notExec = c.d.docker(['run', '--rm', 'bbox:1', '/etc/passwd']);
    assert.equal(notExec.status, 126);
    assert.match(notExec.stderr, /permission denied/);
    assert.equal(c.d.docker(['ps', '-aq', '--filter', 'ancestor=bbox:1', '--filter', 'status=created']).stdout.trim().split('\n').length, 1, '--rm removed the failed one');
  });

  it('pipes stdin with -i and closes it at EOF', () => {
    const r = c.d.docker(['run', '-i', '--rm', 'bbox:1', 'cat'], { input: 'data\nmore data\n' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'data\nmore data\n');
  });

  it('runs detached: docker ps shows "Up …" and the container can be stopped', async () => {
    const r = c.d.docker(['run', '-d', '--name', 'bg', 'bbox:1', 'sleep', '300']);
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = c.d.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} bg Up (Less than a second|\\d+ seconds?)$`, 'm'));
    const pid = Number(c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'bg']).stdout.trim());
    assert.ok(pid > 0);
    assert.equal(c.d.docker(['kill', 'bg']).status, 0);
    assert.equal(c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}', 'bg']).stdout.trim(), 'exited 137 0');
  });

  it('generates /etc/hostname, /etc/hosts and /etc/resolv.conf per container', () => {
    const r = c.d.docker(['run', '--rm', '--hostname', 'box1', '--add-host', 'db:10.1.2.3', '--dns', '10.9.9.9', 'bbox:1', 'sh', '-c', 'cat /etc/hostname; hostname; cat /etc/hosts; cat /etc/resolv.conf']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^box1\nbox1\n127\.0\.0\.1\tlocalhost\n/);
    assert.match(r.stdout, /^10\.1\.2\.3\tdb$/m);
    assert.match(r.stdout, /^nameserver 10\.9\.9\.9$/m);
    const id = c.d.docker(['create', 'bbox:1', 'true']).stdout.trim();
    assert.equal(c.d.docker(['start', id]).status, 0);
    const paths = c.d.docker(['inspect', '-f', '{{.HostnamePath}} {{.HostsPath}} {{.ResolvConfPath}}', id]).stdout.trim().split(' ');
    assert.deepEqual(paths.map((p) => p.endsWith(`/containers/${id}/${p.split('/').pop()}`)), [true, true, true]);
    assert.doesNotMatch(c.d.docker(['run', '--rm', 'bbox:1', 'cat', '/etc/resolv.conf']).stdout, /nameserver 127\./, 'localhost nameservers are dropped');
  });

  it('network modes: none has only loopback, host shares the host\'s, container: joins a running container', () => {
    const none = c.d.docker(['run', '--rm', '--network', 'none', 'bbox:1', 'sh', '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1']);
    assert.equal(none.stdout.trim(), 'lo');
    const host = c.d.docker(['run', '--rm', '--network', 'host', 'bbox:1', 'hostname']);
    assert.equal(host.stdout.trim(), hostname());
    assert.equal(c.d.docker(['run', '-d', '--name', 'netpeer', '--hostname', 'peerhost', 'bbox:1', 'sleep', '300']).status, 0);
    const joined = c.d.docker(['run', '--rm', '--network', 'container:netpeer', 'bbox:1', 'sh', '-c', 'cat /etc/hostname; ls -l /proc/self/ns/net']);
    const peerNs = c.d.docker(['exec', 'netpeer', 'ls', '-l', '/proc/self/ns/net']).stdout.split('-> ')[1];
    assert.equal(joined.stdout.split('\n')[0], 'peerhost');
    assert.equal(joined.stdout.split('-> ')[1], peerNs);
    assert.equal(c.d.docker(['stop', '-t', '0', 'netpeer']).status, 0);
    const refused = c.d.docker(['run', '--rm', '--network', 'container:netpeer', 'bbox:1', 'true']);
    assert.equal(refused.status, 125);
    assert.match(refused.stderr, /cannot join network of a non running container: netpeer/);
  });

  it('records the runtime, takes --runtime, refuses an unknown one', () => {
    const r = c.d.docker(['run', '--rm', '--runtime', 'runc', 'bbox:1', 'true']);
    assert.equal(r.status, 0, r.stderr);
    const id = c.d.docker(['create', 'bbox:1', 'true']).stdout.trim();
    assert.equal(c.d.docker(['inspect', '-f', '{{.HostConfig.Runtime}}', id]).stdout.trim(), 'runc');
    const bad = c.d.docker(['run', '--rm', '--runtime', 'nope', 'bbox:1', 'true']);
    assert.equal(bad.status, 125);
    assert.match(bad.stderr, /unknown or invalid runtime name: nope/);
  });

  it('docker start -a attaches before starting and returns the exit code', () => {
    assert.equal(c.d.docker(['create', '--name', 'later', 'bbox:1', 'sh', '-c', 'echo started; exit 5']).status, 0);
    const r = c.d.docker(['start', '-a', 'later']);
    assert.equal(r.stdout, 'started\n');
    assert.equal(r.status, 5);
    const again = c.d.docker(['start', '-a', 'later']);
    assert.equal(again.stdout, 'started\n', 'the second run attaches to its own output only');
  });

  it('runs with a TTY: raw output with CRLF, no stream multiplexing', () => {
    const r = c.d.docker(['run', '--rm', '-t', 'bbox:1', 'sh', '-c', 'echo tty-out; echo tty-err >&2']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'tty-out\r\ntty-err\r\n');
  });

  it('docker wait returns the exit code of a container that stops later', async () => {
    assert.equal(c.d.docker(['run', '-d', '--name', 'waited', 'bbox:1', 'sh', '-c', 'sleep 1; exit 7']).status, 0);
    const w = dockerAsync(c.d, ['wait', 'waited']);
    const r = await w.done;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '7');
    assert.equal(c.d.docker(['wait', 'waited']).stdout.trim(), '7', 'not-running returns at once for a stopped container');
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 10_000, `no leftovers (${c.leftovers().join('; ')})`);
    assert.equal(c.d.docker(['ps', '-aq']).stdout, '');
  });
});
