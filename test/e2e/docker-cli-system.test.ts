import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { dockerCliAvailable, runBerthd, startBerthd, type BerthdProcess } from '../helpers/berthd-process.js';

const skip = dockerCliAvailable ? false : 'the docker CLI is not installed';

describe('the stock docker CLI against berthd', { skip }, () => {
  let d: BerthdProcess;
  before(async () => { d = await startBerthd({ labels: ['tier=test'] }); });
  after(async () => { await d.stop(); });

  it('docker version prints the server section', () => {
    const r = d.docker(['version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Server: Berth [\d.]+/);
    assert.match(r.stdout, /Engine:\s*\n\s*Version:\s+28\.5\.0\+berth/);
    assert.match(r.stdout, /API version:\s+1\.51 \(minimum version 1\.24\)/);
    assert.match(r.stdout, /API version:\s+1\.50\s*\n/, 'the CLI negotiates its own 1.50');
    // Right after start: the runtime's version is probed by this request, not left out.
    assert.match(r.stdout, /\n runc:\s*\n\s+Version:\s+\d+\.\d+/);
    assert.equal(r.stderr, '');
  });

  it('docker version --format reads server fields', () => {
    const r = d.docker(['version', '--format', '{{.Server.Os}}/{{.Server.KernelVersion}}/{{.Server.APIVersion}}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `linux/${os.release()}/1.51`);
  });

  it('docker info prints real host figures without errors', () => {
    const r = d.docker(['info']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Server Version: 28\.5\.0\+berth/);
    assert.match(r.stdout, new RegExp(`Kernel Version: ${os.release().replace(/[.+]/g, '\\$&')}`));
    assert.match(r.stdout, new RegExp(`CPUs: ${os.availableParallelism()}`));
    assert.match(r.stdout, new RegExp(`Docker Root Dir: ${join(d.dir, 'data')}`));
    assert.match(r.stdout, /Cgroup Version: [12]/);
    assert.match(r.stdout, /tier=test/);
    assert.doesNotMatch(r.stderr, /ERROR|error/);
    const id = d.docker(['info', '--format', '{{.ID}}']).stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
  });

  it('docker events --since sees the reload event after SIGHUP', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await writeFile(d.configFile, JSON.stringify({ labels: ['tier=test'], debug: true }));
    d.child.kill('SIGHUP');
    let out = '';
    for (let i = 0; i < 50 && !out.includes('reload'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const until = Math.floor(Date.now() / 1000) + 1;
      out = d.docker(['events', '--since', String(since), '--until', String(until), '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.debug}}']).stdout;
    }
    assert.match(out, /^daemon reload true$/m);
  });

  it('a bad daemon.json on reload is refused and the daemon keeps serving', async () => {
    await writeFile(d.configFile, '{"debug": "yes"}');
    d.child.kill('SIGHUP');
    // The reload runs after the signal is handled: wait for its verdict in the log, however slow the machine.
    for (let t0 = Date.now(); !/Error reloading configuration/.test(d.stderr()) && Date.now() - t0 < 20_000;) await new Promise((r) => setTimeout(r, 50));
    assert.match(d.stderr(), /Error reloading configuration.*debug/);
    assert.equal(d.docker(['version', '--format', '{{.Server.APIVersion}}']).stdout.trim(), '1.51');
  });
});

describe('berthd configuration errors', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(os.tmpdir(), 'berth-cfg-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('refuses an unknown daemon.json key, naming it', async () => {
    const file = join(dir, 'daemon.json');
    await writeFile(file, JSON.stringify({ 'storage-drivr': 'vfs' }));
    const r = runBerthd(['--config-file', file, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'p'), '-H', `unix://${join(dir, 's.sock')}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the following directives don't match any configuration option: storage-drivr/);
    const v = runBerthd(['--validate', '--config-file', file]);
    assert.equal(v.status, 1);
    assert.match(v.stderr, /storage-drivr/);
  });

  it('refuses a key set both as a flag and in the file', async () => {
    const file = join(dir, 'daemon.json');
    await writeFile(file, JSON.stringify({ debug: true }));
    const r = runBerthd(['--validate', '--config-file', file, '--debug']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the following directives are specified both as a flag and in the configuration file: debug/);
    await writeFile(file, JSON.stringify({ bip: '10.0.0.1/33' }));
    const bad = runBerthd(['--validate', '--config-file', file]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bip/);
    await writeFile(file, '{}');
    const ok = runBerthd(['--validate', '--config-file', file]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stderr, 'configuration OK\n');
  });

  it('prints its version', () => {
    const r = runBerthd(['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Berth version \d+\.\d+\.\d+/);
  });
});
