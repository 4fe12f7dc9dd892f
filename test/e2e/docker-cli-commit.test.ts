import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerDaemonSuite, containerE2eSkip as skip } from './containers/daemon-suite.js';
import { apiJson } from './containers/raw-http.js';

describe('docker commit with the real CLI', { skip }, () => {
  const suite = containerDaemonSuite();
  const ok = suite.ok;
  const inspect = (ref: string, fmt: string) => ok(['image', 'inspect', '-f', fmt, ref]).trim();

  it('makes an image of a stopped container: changes, whiteouts, author, message, --change, parent, history, events', async () => {
    ok(['run', '--name', 'src', 'bbox:1', 'sh', '-c', 'echo hi > /hello; mkdir /d; rm /etc/group']);
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = ok(['commit', '-a', 'me <me@x>', '-m', 'my msg', '-c', 'ENV A=1', '-c', 'EXPOSE 80', '-c', 'CMD ["cat", "/hello"]', '-c', 'LABEL k=v', '-c', 'WORKDIR /d', '-c', 'USER root', '-c', 'STOPSIGNAL SIGINT', '-c', 'VOLUME /data', 'src', 'committed:1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const until = Math.floor(Date.now() / 1000) + 1;
    assert.equal(ok(['run', '--rm', 'committed:1']), 'hi\n', 'the new CMD runs on the committed files');
    assert.equal(suite.c.d.docker(['run', '--rm', 'committed:1', 'ls', '/etc/group']).status, 1, 'the deletion is a whiteout');
    assert.equal(ok(['run', '--rm', 'committed:1', 'sh', '-c', 'echo $A; pwd']), '1\n/d\n');
    const srcId = ok(['inspect', '-f', '{{.Id}}', 'src']).trim();
    const parent = inspect('bbox:1', '{{.Id}}');
    assert.equal(inspect('committed:1', '{{.Author}}|{{.Comment}}|{{.Parent}}'), `me <me@x>|my msg|${parent}`);
    assert.equal(inspect('committed:1', '{{json .Config.ExposedPorts}} {{json .Config.Labels}} {{.Config.User}} {{.Config.StopSignal}} {{json .Config.Volumes}}'), '{"80/tcp":{}} {"k":"v"} root SIGINT {"/data":{}}');
    assert.match(inspect('committed:1', '{{.DockerVersion}}'), /berth/);
    assert.equal(inspect('committed:1', '{{len .RootFS.Layers}}'), '2');
    // Container and ContainerConfig are shown below API 1.45 only.
    const old = (await apiJson(suite.c.d.socket, 'GET', '/v1.44/images/committed:1/json')).json as { Container: string; ContainerConfig: { Cmd: string[] } };
    assert.equal(old.Container, srcId);
    assert.deepEqual(old.ContainerConfig.Cmd, ['sh', '-c', 'echo hi > /hello; mkdir /d; rm /etc/group']);
    const history = ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:1']).trim().split('\n');
    assert.equal(history.length, 2);
    assert.equal(history[0], 'sh -c echo hi > /hello; mkdir /d; rm /etc/group|my msg');
    const events = ok(['events', '--since', String(since), '--until', String(until), '--filter', 'event=tag', '--filter', 'event=create', '--filter', 'type=image', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}']).trim().split('\n').filter((l) => l.endsWith(id));
    assert.deepEqual(events, [`image create ${id}`, `image tag ${id}`]);
    const commitEv = ok(['events', '--since', String(since), '--until', String(until), '--filter', 'event=commit', '--format', '{{json .Actor.Attributes}}']).trim();
    assert.deepEqual(JSON.parse(commitEv), { comment: 'my msg', image: 'bbox:1', imageID: id, imageRef: 'committed:1', name: 'src' });
  });

  it('an unchanged container adds no layer (an empty_layer history entry)', () => {
    ok(['run', '--name', 'same', 'bbox:1', 'true']);
    ok(['commit', 'same', 'same:1']);
    assert.equal(inspect('same:1', '{{len .RootFS.Layers}}'), '1');
    assert.equal(ok(['history', '--format', '{{.CreatedBy}} {{.Size}}', 'same:1']).split('\n')[0], 'true 0B');
  });

  it('pauses a running container during the commit by default, not with --pause=false; it keeps running', () => {
    ok(['run', '-d', '--name', 'live', 'bbox:1', 'sh', '-c', 'echo x > /x; sleep 300']);
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(['commit', 'live', 'live:1']);
    ok(['commit', '--pause=false', 'live', 'live:2']);
    const until = Math.floor(Date.now() / 1000) + 1;
    const actions = ok(['events', '--since', String(since), '--until', String(until), '--filter', 'container=live', '--filter', 'event=pause', '--filter', 'event=unpause', '--filter', 'event=commit', '--format', '{{.Action}}']).trim().split('\n');
    assert.deepEqual(actions, ['pause', 'unpause', 'commit', 'commit']);
    assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'live']).trim(), 'running');
    assert.equal(ok(['run', '--rm', 'live:2', 'cat', '/x']), 'x\n');
  });

  it('answers errors as dockerd: unknown change, unknown container, bad reference', () => {
    ok(['create', '--name', 'idle', 'bbox:1']);
    let r = suite.c.d.docker(['commit', '-c', 'FOO bar', 'idle', 'x:1']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /foo is not a valid change command/);
    r = suite.c.d.docker(['commit', 'nope', 'x:1']);
    assert.match(r.stderr, /No such container: nope/);
    assert.equal(suite.c.d.docker(['image', 'inspect', 'x:1']).status, 1, 'nothing was made');
  });

  it('POST /commit takes a Config body and answers 201 with the Id', async () => {
    const id = ok(['inspect', '-f', '{{.Id}}', 'idle']).trim();
    const res = await apiJson(suite.c.d.socket, 'POST', `/v1.51/commit?container=${id}&repo=viaapi&tag=2&pause=0`, { Cmd: ['echo', 'from-body'], Env: ['B=2'] });
    assert.equal(res.status, 201);
    assert.match((res.json as { Id: string }).Id, /^sha256:/);
    assert.equal(ok(['run', '--rm', 'viaapi:2']), 'from-body\n');
    assert.equal(inspect('viaapi:2', '{{json .Config.Env}}'), '["B=2"]');
    const bad = await apiJson(suite.c.d.socket, 'POST', `/v1.51/commit?container=${id}&repo=Bad`, null);
    assert.equal(bad.status, 400);
  });
});
