import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { containerDaemonSuite, containerE2eSkip as skip } from './containers/daemon-suite.js';

describe('--pid, --ipc and --uts modes with the real CLI', { skip }, () => {
  const suite = containerDaemonSuite();
  const ok = suite.ok;
  const pidOf = (name: string) => Number(ok(['inspect', '-f', '{{.State.Pid}}', name]).trim());

  it('--pid container:<name> joins its pid namespace; the create stores the full ID', () => {
    ok(['run', '-d', '--name', 'pidhost', 'bbox:1', 'sleep', '300']);
    const donorId = ok(['inspect', '-f', '{{.Id}}', 'pidhost']).trim();
    const out = ok(['run', '--rm', '--pid', 'container:pidhost', 'bbox:1', 'cat', '/proc/1/cmdline']);
    assert.equal(out.replace(/\0/g, ' ').trim(), 'sleep 300', 'pid 1 is the other container\'s process');
    ok(['create', '--name', 'pidjoiner', '--pid', 'container:pidhost', 'bbox:1', 'sleep', '300']);
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.PidMode}}', 'pidjoiner']).trim(), `container:${donorId}`);
    ok(['start', 'pidjoiner']);
    assert.equal(readlinkSync(`/proc/${pidOf('pidjoiner')}/ns/pid`), readlinkSync(`/proc/${pidOf('pidhost')}/ns/pid`));
  });

  it('--ipc shareable / container:<name> share the ipc namespace and /dev/shm; a private donor is refused as dockerd', () => {
    ok(['run', '-d', '--name', 'shm', '--ipc', 'shareable', 'bbox:1', 'sh', '-c', 'echo shared > /dev/shm/x; sleep 300']);
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.IpcMode}}', 'shm']).trim(), 'shareable');
    assert.equal(ok(['run', '--rm', '--ipc', 'container:shm', 'bbox:1', 'cat', '/dev/shm/x']), 'shared\n');
    ok(['run', '-d', '--name', 'ipcjoiner', '--ipc', 'container:shm', 'bbox:1', 'sleep', '300']);
    assert.equal(readlinkSync(`/proc/${pidOf('ipcjoiner')}/ns/ipc`), readlinkSync(`/proc/${pidOf('shm')}/ns/ipc`));
    ok(['run', '-d', '--name', 'private', 'bbox:1', 'sleep', '300']);
    assert.equal(ok(['inspect', '-f', '{{.HostConfig.IpcMode}}', 'private']).trim(), 'private', 'the daemon default');
    const id = ok(['inspect', '-f', '{{.Id}}', 'private']).trim();
    const r = suite.c.d.docker(['run', '--rm', '--ipc', 'container:private', 'bbox:1', 'true']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`can't join IPC of container ${id}: non-shareable IPC \\(hint: use IpcMode:shareable for the donor container\\)`));
  });

  it('answers a missing or stopped target as dockerd: 404 at create, 409 at start', () => {
    let r = suite.c.d.docker(['create', '--pid', 'container:nope', 'bbox:1']);
    assert.match(r.stderr, /No such container: nope/);
    r = suite.c.d.docker(['create', '--ipc', 'container:nope', 'bbox:1']);
    assert.match(r.stderr, /No such container: nope/);
    ok(['create', '--name', 'cold', '--ipc', 'shareable', 'bbox:1']);
    const cold = ok(['inspect', '-f', '{{.Id}}', 'cold']).trim();
    r = suite.c.d.docker(['run', '--rm', '--pid', 'container:cold', 'bbox:1', 'true']);
    assert.match(r.stderr, new RegExp(`container ${cold} is not running`));
    r = suite.c.d.docker(['run', '--rm', '--ipc', 'container:cold', 'bbox:1', 'true']);
    assert.match(r.stderr, new RegExp(`can't join IPC of container ${cold}: container ${cold} is not running`));
    r = suite.c.d.docker(['run', '--rm', '--ipc', 'foo', 'bbox:1', 'true']);
    assert.match(r.stderr, /Invalid IPC mode: foo/);
  });

  it('--pid host, --ipc host, --uts host use the host namespaces', () => {
    const hostPidNs = readlinkSync('/proc/self/ns/pid');
    ok(['run', '-d', '--name', 'hosty', '--pid', 'host', '--ipc', 'host', '--uts', 'host', 'bbox:1', 'sleep', '300']);
    const pid = pidOf('hosty');
    assert.equal(readlinkSync(`/proc/${pid}/ns/pid`), hostPidNs);
    assert.equal(readlinkSync(`/proc/${pid}/ns/ipc`), readlinkSync('/proc/self/ns/ipc'));
    assert.equal(readlinkSync(`/proc/${pid}/ns/uts`), readlinkSync('/proc/self/ns/uts'));
    assert.equal(ok(['exec', 'hosty', 'hostname']).trim(), hostname());
    const r = suite.c.d.docker(['run', '--rm', '--uts', 'host', '--hostname', 'x', 'bbox:1', 'true']);
    assert.match(r.stderr, /conflicting options: hostname and the UTS mode/);
  });
});
