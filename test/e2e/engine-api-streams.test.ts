import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { startContainerDaemon, waitFor, type ContainerDaemon } from './containers/harness.js';
import { apiJson, frames, rawExchange } from './containers/raw-http.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/**
 * The Engine API's streams on the wire, below what the CLI shows: the 101
 * handshake and its Content-Type per API version (pitfalls 1 and 3), frames,
 * a JSON body before raw stdin (exec start), half-close, the exit code being
 * recorded before the stream closes, detach keys seen by the daemon, and
 * `wait` answering its headers before the container starts (pitfall 5).
 */
describe('Engine API attach, exec, logs and wait streams', { skip }, () => {
  let c: ContainerDaemon;
  let sock: string;
  before(async () => {
    c = await startContainerDaemon();
    sock = c.d.socket;
  });
  after(async () => { await c?.stop(); });

  const create = async (body: Record<string, unknown>) => {
    const r = await apiJson(sock, 'POST', '/v1.51/containers/create', { Image: 'bbox:1', ...body });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return (r.json as { Id: string }).Id;
  };

  for (const [version, contentType] of [['1.51', 'application/vnd.docker.multiplexed-stream'], ['1.41', 'application/vnd.docker.raw-stream']] as const) {
    it(`attach before start at v${version}: 101 UPGRADED, ${contentType.split('.').pop()}, frames, closed at exit`, async () => {
      const id = await create({ Cmd: ['sh', '-c', 'echo out; echo err >&2'], AttachStdout: true, AttachStderr: true });
      const ex = rawExchange(sock, 'POST', `/v${version}/containers/${id}/attach?stream=1&stdout=1&stderr=1`, { upgrade: true, headers: { 'Content-Type': 'text/plain' } });
      const head = await ex.head;
      assert.equal(head.statusLine, 'HTTP/1.1 101 UPGRADED');
      assert.equal(head.headers['content-type'], contentType);
      assert.equal(head.headers.upgrade, 'tcp');
      ex.socket.end(); // the CLI half-closes at once when it has no stdin
      const start = await apiJson(sock, 'POST', `/v${version}/containers/${id}/start`);
      assert.equal(start.status, 204);
      await ex.closed;
      const got = frames(ex.body()).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(got, [[1, 'out\n'], [2, 'err\n']]);
      const again = await apiJson(sock, 'POST', `/v${version}/containers/${id}/start`);
      assert.equal(again.status, 204, 'it ran to its end, so it starts again');
    });
  }

  it('attach without an upgrade: 200 and the output as a streamed body (logs=1&stream=0)', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo logged'] });
    assert.equal((await apiJson(sock, 'POST', `/containers/${id}/start`)).status, 204);
    assert.deepEqual((await apiJson(sock, 'POST', `/containers/${id}/wait`)).json, { StatusCode: 0, Error: null });
    const ex = rawExchange(sock, 'POST', `/v1.51/containers/${id}/attach?logs=1&stream=0&stdout=1&stderr=1`, { headers: { Connection: 'close' } });
    const head = await ex.head;
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    await ex.closed;
    assert.ok(ex.body().toString('latin1').includes('\x01\x00\x00\x00\x00\x00\x00\x07logged\n'));
  });

  it('answers errors before the upgrade as plain HTTP', async () => {
    const ex = rawExchange(sock, 'POST', '/v1.51/containers/no-such/attach?stream=1&stdout=1', { upgrade: true });
    const head = await ex.head;
    assert.equal(head.status, 404);
    await ex.closed;
    assert.deepEqual(JSON.parse(ex.body().toString()), { message: 'No such container: no-such' });
  });

  it('exec start: the JSON body and stdin in one packet, half-close, exit code recorded before the close', async () => {
    const id = await create({ Cmd: ['sleep', '300'] });
    assert.equal((await apiJson(sock, 'POST', `/containers/${id}/start`)).status, 204);
    const exec = await apiJson(sock, 'POST', `/v1.51/containers/${id}/exec`, { AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: ['sh', '-c', 'cat; exit 3'] });
    assert.equal(exec.status, 201);
    const execId = (exec.json as { Id: string }).Id;
    const inspectBefore = await apiJson(sock, 'GET', `/exec/${execId}/json`);
    assert.equal((inspectBefore.json as { ExitCode: unknown }).ExitCode, null);
    const body = JSON.stringify({ Detach: false, Tty: false });
    const ex = rawExchange(sock, 'POST', `/v1.51/exec/${execId}/start`, {
      upgrade: true,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
      body: `${body}hello stdin\n`,
    });
    // Content-Length covers only the JSON: the rest is stdin.
    assert.equal((await ex.head).statusLine, 'HTTP/1.1 101 UPGRADED');
    ex.socket.end();
    await ex.closed;
    assert.deepEqual(frames(ex.body()), [[1, 'hello stdin\n']]);
    const inspect = (await apiJson(sock, 'GET', `/exec/${execId}/json`)).json as Record<string, unknown>;
    assert.equal(inspect.ExitCode, 3);
    assert.equal(inspect.Running, false);
    assert.equal(inspect.ContainerID, id);
    assert.deepEqual(inspect.ProcessConfig, { tty: false, entrypoint: 'sh', arguments: ['-c', 'cat; exit 3'], privileged: false });
    const rerun = await apiJson(sock, 'POST', `/exec/${execId}/start`, { Detach: true });
    assert.equal(rerun.status, 409);
  });

  it('sees the detach keys itself when they arrive in one packet, and leaves the container running', async () => {
    const id = await create({ Cmd: ['sh'], Tty: true, OpenStdin: true, AttachStdin: true, AttachStdout: true });
    assert.equal((await apiJson(sock, 'POST', `/containers/${id}/start`)).status, 204);
    const ex = rawExchange(sock, 'POST', `/v1.51/containers/${id}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x`, { upgrade: true });
    assert.equal((await ex.head).headers['content-type'], 'application/vnd.docker.raw-stream');
    ex.socket.write('echo one-$((40+2))\n');
    await waitFor(() => ex.body().toString().includes('one-42'), 10_000, 'the echo');
    ex.socket.write('\x18');
    await ex.closed;
    const insp = await apiJson(sock, 'GET', `/containers/${id}/json`);
    assert.equal((insp.json as { State: { Status: string } }).State.Status, 'running');
    const bad = rawExchange(sock, 'POST', `/containers/${id}/attach?stream=1&stdin=1&detachKeys=ctrl-nope`, { upgrade: true });
    assert.equal((await bad.head).status, 400);
  });

  it('wait flushes its headers before the container starts, and answers at the exit', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'exit 8'] });
    const ex = rawExchange(sock, 'POST', `/v1.51/containers/${id}/wait?condition=next-exit`);
    const head = await ex.head;
    assert.equal(head.status, 200);
    assert.equal(head.headers['transfer-encoding'], 'chunked');
    assert.equal((await apiJson(sock, 'POST', `/containers/${id}/start`)).status, 204);
    await waitFor(() => ex.body().toString().includes('StatusCode'), 10_000, 'the wait result');
    assert.match(ex.body().toString(), /\{"StatusCode":8,"Error":null\}/);
    ex.socket.destroy();
    const bad = await apiJson(sock, 'POST', `/containers/${id}/wait?condition=bogus`);
    assert.equal(bad.status, 400);
  });

  it('logs: Content-Type by version, frames, and 400 without a stream', async () => {
    const id = await create({ Cmd: ['sh', '-c', 'echo a; echo b >&2'] });
    assert.equal((await apiJson(sock, 'POST', `/containers/${id}/start`)).status, 204);
    assert.deepEqual((await apiJson(sock, 'POST', `/containers/${id}/wait`)).json, { StatusCode: 0, Error: null });
    for (const [version, type] of [['1.51', 'application/vnd.docker.multiplexed-stream'], ['1.41', 'application/vnd.docker.raw-stream']]) {
      const ex = rawExchange(sock, 'GET', `/v${version}/containers/${id}/logs?stdout=1&stderr=1`, { headers: { Connection: 'close' } });
      const head = await ex.head;
      assert.equal(head.headers['content-type'], type);
      await ex.closed;
      const body = ex.body().toString('latin1');
      assert.ok(body.includes('\x01\x00\x00\x00\x00\x00\x00\x02a\n'), JSON.stringify(body));
      assert.ok(body.includes('\x02\x00\x00\x00\x00\x00\x00\x02b\n'), JSON.stringify(body));
    }
    const none = await apiJson(sock, 'GET', `/containers/${id}/logs`);
    assert.equal(none.status, 400);
    assert.deepEqual(none.json, { message: 'Bad parameters: you must choose at least one stream' });
  });

  it('leaves no monitors, runtime state or cgroups behind', async () => {
    c.removeAll();
    await waitFor(() => c.leftovers().length === 0, 15_000, 'no leftovers');
  });
});
