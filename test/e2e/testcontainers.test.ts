import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { busyboxAvailable } from '../helpers/busybox-rootfs.js';
import { dockerCliAvailable } from '../helpers/berthd-process.js';
import { startContainerDaemon, type ContainerDaemon } from './containers/harness.js';

const skip = !dockerCliAvailable ? 'the docker CLI is not installed' : !busyboxAvailable ? 'busybox-static is not installed' : process.getuid?.() !== 0 ? 'needs root' : false;

/**
 * The npm `testcontainers` library against a test berthd: DOCKER_HOST points
 * at it, Ryuk is off, and the image is the locally imported busybox (a pull
 * policy that never pulls, since no registry is reachable). Waiting is by log
 * message only: published ports belong to net-bridge.
 */
describe('testcontainers against berthd', { skip }, () => {
  let c: ContainerDaemon;
  let tc: typeof import('testcontainers');
  const neverPull = { shouldPull: () => false };
  before(async () => {
    c = await startContainerDaemon();
    process.env.DOCKER_HOST = `unix://${c.d.socket}`;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    // With /.dockerenv present (a CI container) testcontainers would look for the `bridge`
    // network's gateway, which needs net-bridge; the daemon runs on this host.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
    // Loaded after the environment is set: testcontainers reads it once.
    tc = await import('testcontainers');
  });
  after(async () => {
    await c?.stop();
  });

  it('GenericContainer with a command and a log-message wait; exec, files in, logs, stop', async () => {
    const container = await new tc.GenericContainer('bbox:1')
      .withPullPolicy(neverPull)
      .withCommand(['sh', '-c', 'echo starting; sleep 0.3; echo ready to serve; exec sleep 300'])
      .withWaitStrategy(tc.Wait.forLogMessage('ready to serve'))
      .withCopyContentToContainer([{ content: 'before start\n', target: '/tmp/pre.txt' }])
      .withEnvironment({ GREETING: 'hi' })
      .withLabels({ suite: 'testcontainers' })
      .start();
    try {
      const pre = await container.exec(['cat', '/tmp/pre.txt']);
      assert.equal(pre.exitCode, 0);
      assert.equal(pre.output, 'before start\n');
      const env = await container.exec(['sh', '-c', 'echo $GREETING; echo err >&2; exit 4']);
      assert.equal(env.exitCode, 4);
      assert.equal(env.stdout, 'hi\n');
      assert.equal(env.stderr, 'err\n');
      await container.copyContentToContainer([{ content: 'copied content\n', target: '/tmp/content.txt' }]);
      assert.equal((await container.exec(['cat', '/tmp/content.txt'])).output, 'copied content\n');
      await container.copyFilesToContainer([{ source: new URL(import.meta.url).pathname, target: '/tmp/self.js' }]);
      assert.equal((await container.exec(['ls', '/tmp/self.js'])).exitCode, 0);
      const stream = await container.logs();
      const logs = await new Promise<string>((resolve) => {
        let text = '';
        stream.on('data', (b: Buffer | string) => {
          text += b;
          if (text.includes('ready to serve')) resolve(text);
        });
      });
      stream.destroy();
      assert.match(logs, /starting\n[\s\S]*ready to serve/);
      assert.match(container.getName(), /^\//);
    } finally {
      const stopped = await container.stop({ timeout: 1 });
      assert.equal(stopped.getId(), container.getId());
    }
    assert.equal(c.d.docker(['ps', '-aq', '--filter', 'label=suite=testcontainers']).stdout.trim(), '', 'stop removed it');
  });

  it('a container that exits before its log message fails the start with a clear error', async () => {
    await assert.rejects(
      new tc.GenericContainer('bbox:1').withPullPolicy(neverPull).withCommand(['sh', '-c', 'echo nope; exit 1']).withWaitStrategy(tc.Wait.forLogMessage('never printed').withStartupTimeout(20_000)).start(),
      /never printed|exited|Log stream ended/,
    );
  });
});
