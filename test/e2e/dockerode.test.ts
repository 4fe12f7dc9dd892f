import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/** Collects a multiplexed stream through dockerode's own demuxer. */
function demux(docker: Docker, stream: NodeJS.ReadableStream): { out: () => string; err: () => string; ended: Promise<void> } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => { out += b; });
  stderr.on('data', (b: Buffer) => { err += b; });
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((r) => { stream.on('end', () => r()); stream.on('close', () => r()); });
  return { out: () => out, err: () => err, ended };
}

describe('the main scenarios through dockerode', { skip }, () => {
  let c: ContainerDaemon;
  let docker: Docker;
  before(async () => {
    c = await startContainerDaemon();
    docker = new Docker({ socketPath: c.d.socket });
  });
  after(async () => {
    await c?.stop();
  });

  it('ping, version and info', async () => {
    assert.equal(String(await docker.ping()), 'OK');
    const v = await docker.version();
    assert.match(v.ApiVersion, /^1\.\d+$/);
    const info = await docker.info();
    assert.equal(typeof info.Containers, 'number');
    assert.ok(info.Images >= 1);
  });

  it('create, start, wait, logs (demuxed), inspect, remove', async () => {
    const ctr = await docker.createContainer({ Image: 'bbox:1', name: 'dode', Cmd: ['sh', '-c', 'echo to-out; echo to-err >&2; exit 3'], Labels: { suite: 'dockerode' } });
    await ctr.start();
    const res = await ctr.wait();
    assert.equal(res.StatusCode, 3);
    const logs = await ctr.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer;
    const stream = new PassThrough();
    const d = demux(docker, stream);
    stream.end(logs);
    await d.ended;
    assert.equal(d.out(), 'to-out\n');
    assert.equal(d.err(), 'to-err\n');
    const info = await ctr.inspect();
    assert.equal(info.State.ExitCode, 3);
    assert.equal(info.Name, '/dode');
    const listed = await docker.listContainers({ all: true, filters: { label: ['suite=dockerode'] } });
    assert.deepEqual(listed.map((x) => x.Names[0]), ['/dode']);
    assert.equal((await docker.listContainers({ all: true, filters: { label: ['suite=other'] } })).length, 0);
    await ctr.remove();
    await assert.rejects(ctr.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  it('attach before start: a hijacked stream demuxed into stdout and stderr; stdin reaches the process', async () => {
    const ctr = await docker.createContainer({ Image: 'bbox:1', Cmd: ['sh', '-c', 'read line; echo "got $line"; echo bye >&2'], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await ctr.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const d = demux(docker, stream);
    await ctr.start();
    (stream as unknown as NodeJS.WritableStream).write('hello\n');
    await d.ended;
    assert.equal(d.out(), 'got hello\n');
    assert.equal(d.err(), 'bye\n');
    assert.equal((await ctr.wait()).StatusCode, 0);
    await ctr.remove();
  });

  it('exec with a demuxed stream and its exit code; stop and force remove', async () => {
    const ctr = await docker.createContainer({ Image: 'bbox:1', Cmd: ['sleep', '300'] });
    await ctr.start();
    const exec = await ctr.exec({ Cmd: ['sh', '-c', 'echo in-exec; echo oops >&2; exit 7'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const d = demux(docker, stream);
    await d.ended;
    assert.equal(d.out(), 'in-exec\n');
    assert.equal(d.err(), 'oops\n');
    const ei = await exec.inspect();
    assert.equal(ei.ExitCode, 7);
    assert.equal(ei.Running, false);
    await ctr.stop({ t: 1 });
    assert.equal((await ctr.inspect()).State.Running, false);
    await assert.rejects(ctr.stop(), (e: { statusCode?: number }) => e.statusCode === 304);
    await ctr.remove({ force: true });
  });

  it('follows logs of a running container until it exits', async () => {
    const ctr = await docker.createContainer({ Image: 'bbox:1', Cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done'] });
    await ctr.start();
    const stream = await ctr.logs({ stdout: true, stderr: true, follow: true });
    const d = demux(docker, stream);
    await d.ended;
    assert.equal(d.out(), 'line1\nline2\nline3\n');
    await ctr.remove({ force: true });
  });

  it('streams events', async () => {
    const events = await docker.getEvents({ filters: { type: ['container'], event: ['create'] } });
    const got = new Promise<string>((resolve) => events.on('data', (b: Buffer) => resolve(JSON.parse(b.toString()).Actor.Attributes.name)));
    const ctr = await docker.createContainer({ Image: 'bbox:1', name: 'evd' });
    assert.equal(await got, 'evd');
    (events as unknown as { destroy(): void }).destroy();
    await ctr.remove();
  });
});
