import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, silentLogger, type ContainerLogInfo, type LogEntry } from '../../../kernel/index.js';
import { JsonFileDriver } from '../../../plugins/log-json-file/json-file-driver.js';
import logJsonFile from '../../../plugins/log-json-file/manifest.js';
import { startApi } from '../../helpers/api-harness.js';

const ID = 'c0ffee'.padEnd(64, '0');

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('json-file log driver', () => {
  let dir: string;
  let info: ContainerLogInfo;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-jsondrv-'));
    info = { containerId: ID, dir, config: {}, containerName: '/web', labels: { app: 'shop' }, env: ['MODE=prod'] };
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('is the log-driver.v1 plugin json-file, reading log-driver and log-opts', () => {
    assert.equal(logJsonFile.id, 'log-json-file');
    assert.equal(logJsonFile.point, 'log-driver.v1');
    assert.equal(logJsonFile.name, 'json-file');
    assert.deepEqual(logJsonFile.daemonKeys, ['log-driver', 'log-opts']);
  });

  it('applies daemon log-opts as dockerd: merged under the container options, then validated', () => {
    const d = new JsonFileDriver('json-file', { 'max-size': '10m', 'max-file': '3' }, silentLogger);
    assert.deepEqual(d.resolveOptions(undefined), { 'max-size': '10m', 'max-file': '3' });
    assert.deepEqual(d.resolveOptions({ 'max-file': '5', tag: 'x' }), { 'max-file': '5', tag: 'x', 'max-size': '10m' });
    assert.throws(() => d.resolveOptions({ 'fluentd-address': 'x' }), (e: Error) => e instanceof InvalidParameterError && e.message === "unknown log opt 'fluentd-address' for json-file log driver");
    const other = new JsonFileDriver('journald', { 'max-size': '10m' }, silentLogger);
    assert.deepEqual(other.resolveOptions({}), {}, 'another default driver keeps its options to itself');
    assert.throws(() => new JsonFileDriver('json-file', { 'max-sise': '1m' }, silentLogger), /^InvalidParameterError: failed to set log opts: unknown log opt 'max-sise' for json-file log driver$/);
  });

  it('writes <dir>/<id>-json.log with attrs, and reads it back while open and after close', async () => {
    const d = new JsonFileDriver('json-file', {}, silentLogger);
    const logger = await d.open({ ...info, config: { labels: 'app', env: 'MODE', tag: '{{.Name}}' } });
    assert.equal(logger.path, join(dir, `${ID}-json.log`));
    assert.equal(d.logPath(info), logger.path);
    logger.write({ stream: 'stdout', line: Buffer.from('hello'), time: new Date('2026-01-02T03:04:05.678Z') });
    logger.write({ stream: 'stderr', line: Buffer.from('oops'), time: new Date('2026-01-02T03:04:06Z'), timeNano: 1767323046000000001n });
    await logger.flush();
    const text = await readFile(logger.path, 'utf8');
    assert.equal(text,
      '{"log":"hello\\n","stream":"stdout","attrs":{"MODE":"prod","app":"shop","tag":"web"},"time":"2026-01-02T03:04:05.678Z"}\n' +
      '{"log":"oops\\n","stream":"stderr","attrs":{"MODE":"prod","app":"shop","tag":"web"},"time":"2026-01-02T03:04:06.000000001Z"}\n');
    const live = await collect(logger.read());
    assert.deepEqual(live.map((e) => [e.stream, e.line.toString(), e.attrs?.tag]), [['stdout', 'hello', 'web'], ['stderr', 'oops', 'web']]);
    await logger.close();
    const after = await collect(d.reader(info).read({ tail: 1 }));
    assert.deepEqual(after.map((e) => e.line.toString()), ['oops']);
  });

  it('refuses option values when the log is opened, as dockerd at container start', async () => {
    const d = new JsonFileDriver('json-file', {}, silentLogger);
    await assert.rejects(d.open({ ...info, config: { 'max-file': '0' } }), /^InvalidParameterError: max-file cannot be less than 1$/);
    await assert.rejects(d.open({ ...info, config: { 'max-size': '-5' } }), /invalid size: '-5'/);
    await assert.rejects(d.open({ ...info, config: { bogus: '1' } }), /unknown log opt 'bogus'/);
    assert.deepEqual(await readdir(dir), [], 'nothing was created');
  });

  it('rotates per the container options and reads across the rotation', async () => {
    const d = new JsonFileDriver('json-file', { 'max-size': '200', 'max-file': '3', compress: 'true' }, silentLogger);
    const config = d.resolveOptions({});
    const logger = await d.open({ ...info, config });
    for (let i = 0; i < 12; i++) logger.write({ stream: 'stdout', line: Buffer.from(`n${i}`), time: new Date(1767323045000 + i) });
    await logger.close();
    assert.deepEqual((await readdir(dir)).sort(), [`${ID}-json.log`, `${ID}-json.log.1.gz`, `${ID}-json.log.2.gz`]);
    const all = await collect(d.reader({ ...info, config }).read());
    assert.equal(all.at(-1)!.line.toString(), 'n11');
    assert.deepEqual(all.map((e) => Number(e.line.toString().slice(1))), all.map((_, k) => 12 - all.length + k), 'a contiguous tail of what was written');
  });

  it('a follow through the logger ends when the logger closes', async () => {
    const d = new JsonFileDriver('json-file', {}, silentLogger);
    const logger = await d.open(info);
    const got: string[] = [];
    const done = (async () => { for await (const e of logger.read({ follow: true, signal: AbortSignal.timeout(20_000) })) got.push(e.line.toString()); })();
    logger.write({ stream: 'stdout', line: Buffer.from('one'), time: new Date() });
    await new Promise((r) => setTimeout(r, 20));
    logger.write({ stream: 'stdout', line: Buffer.from('two'), time: new Date() });
    await logger.close();
    await done;
    assert.deepEqual(got, ['one', 'two']);
  });

  it('dispose closes open logs, writing what was still queued', async () => {
    const d = new JsonFileDriver('json-file', {}, silentLogger);
    const logger = await d.open(info);
    logger.write({ stream: 'stdout', line: Buffer.from('last words'), time: new Date() });
    await d.dispose();
    assert.match(await readFile(logger.path, 'utf8'), /"log":"last words\\n"/);
    assert.throws(() => logger.write({ stream: 'stdout', line: Buffer.from('late'), time: new Date() }), /output file was closed/);
  });

  it('the daemon lists it in docker info, and a bad daemon.json log-opts is reported there', async () => {
    const ok = await startApi();
    try {
      assert.deepEqual((await ok.http().get('/info')).body.Plugins.Log, ['json-file']);
    } finally {
      await ok.stop();
    }
    const bad = await startApi({ 'log-opts': { 'max-sise': '10m' } });
    try {
      const info2 = (await bad.http().get('/info')).body;
      assert.deepEqual(info2.Plugins.Log, []);
      assert.ok(info2.Warnings.includes("WARNING: plugin log-json-file (json-file) failed: failed to set log opts: unknown log opt 'max-sise' for json-file log driver"), info2.Warnings.join('\n'));
    } finally {
      await bad.stop();
    }
  });
});
