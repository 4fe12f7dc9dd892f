import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../kernel/index.js';
import { mergeDaemonOptions, parseRotation, validateLogOptions } from '../../../plugins/log-json-file/log-options.js';
import { extraAttributes, renderTag } from '../../../plugins/log-json-file/log-attrs.js';

const invalid = (msg: string) => (e: Error) => e instanceof InvalidParameterError && e.message === msg;

describe('json-file log-opts', () => {
  it('accepts dockerd options and the generic ones', () => {
    validateLogOptions({});
    validateLogOptions({ 'max-size': '10m', 'max-file': '3', compress: 'true', labels: 'a,b', 'labels-regex': '^x', env: 'E', 'env-regex': '.', tag: '{{.Name}}' });
    validateLogOptions({ mode: 'non-blocking', 'max-buffer-size': '4m', 'cache-disabled': 'true', 'cache-max-size': '20m' });
  });

  it('refuses unknown and inconsistent options with dockerd wording', () => {
    assert.throws(() => validateLogOptions({ 'max-size': '1m', x: 'y' }), invalid("unknown log opt 'x' for json-file log driver"));
    assert.throws(() => validateLogOptions({ 'syslog-address': 'udp://x' }), invalid("unknown log opt 'syslog-address' for json-file log driver"));
    assert.throws(() => validateLogOptions({ mode: 'sometimes' }), invalid('logger: logging mode not supported: sometimes'));
    assert.throws(() => validateLogOptions({ 'max-buffer-size': '1m' }), invalid("logger: max-buffer-size option is only supported with 'mode=non-blocking'"));
    assert.throws(() => validateLogOptions({ mode: 'non-blocking', 'max-buffer-size': 'big' }), invalid("error parsing option max-buffer-size: invalid size: 'big'"));
    assert.throws(() => validateLogOptions({ 'cache-disabled': 'maybe' }), invalid('invalid value for option cache-disabled: maybe'));
  });

  it('parses rotation as jsonfilelog.New, with its errors', () => {
    assert.deepEqual(parseRotation({}), { maxSize: -1, maxFiles: 1, compress: false });
    assert.deepEqual(parseRotation({ 'max-size': '10m', 'max-file': '3', compress: 'true' }), { maxSize: 10_000_000, maxFiles: 3, compress: true });
    assert.deepEqual(parseRotation({ 'max-size': '1kb' }).maxSize, 1000, 'max-size is decimal (FromHumanSize)');
    assert.throws(() => parseRotation({ 'max-size': '0' }), invalid('max-size must be a positive number'));
    assert.throws(() => parseRotation({ 'max-size': 'ten' }), invalid("invalid size: 'ten'"));
    assert.throws(() => parseRotation({ 'max-size': '10q' }), invalid("invalid suffix: 'q'"));
    assert.throws(() => parseRotation({ 'max-file': '0' }), invalid('max-file cannot be less than 1'));
    assert.throws(() => parseRotation({ 'max-file': 'two' }), invalid('strconv.Atoi: parsing "two": invalid syntax'));
    assert.throws(() => parseRotation({ compress: 'yes' }), invalid('strconv.ParseBool: parsing "yes": invalid syntax'));
    assert.throws(() => parseRotation({ compress: 'true', 'max-size': '1m' }), invalid('compress cannot be true when max-file is less than 2 or max-size is not set'));
    assert.throws(() => parseRotation({ compress: '1', 'max-file': '2' }), invalid('compress cannot be true when max-file is less than 2 or max-size is not set'));
  });

  it('merges daemon log-opts under the container options only when json-file is the daemon default', () => {
    const daemon = { 'max-size': '10m', 'max-file': '3', 'cache-disabled': 'true' };
    assert.deepEqual(mergeDaemonOptions({ 'max-file': '5' }, 'json-file', daemon), { 'max-file': '5', 'max-size': '10m', 'cache-disabled': 'true' });
    assert.deepEqual(mergeDaemonOptions(null, 'local', daemon), { 'cache-disabled': 'true' });
  });
});

describe('json-file attrs and tag', () => {
  const info = {
    containerId: 'f'.repeat(64),
    containerName: '/web',
    dir: '/x',
    config: {} as Record<string, string>,
    labels: { app: 'shop', 'com.example.tier': 'front', secret: 's' },
    env: ['PATH=/bin', 'MODE=prod', 'EMPTY=', 'NOEQUALS'],
    imageId: 'sha256:' + 'a'.repeat(64),
    imageName: 'busybox:latest',
    entrypoint: 'sh',
    args: ['-c', 'echo hi'],
  };

  it('picks labels and env by name and by regular expression', () => {
    assert.deepEqual(extraAttributes({ ...info, config: { labels: 'app,missing', env: 'MODE,EMPTY' } }), { app: 'shop', MODE: 'prod', EMPTY: '' });
    assert.deepEqual(extraAttributes({ ...info, config: { 'labels-regex': '^com\\.', 'env-regex': '^PA' } }), { 'com.example.tier': 'front', PATH: '/bin' });
    assert.deepEqual(extraAttributes({ ...info, config: {} }), {});
  });

  it('renders the tag template fields dockerd documents', () => {
    assert.equal(renderTag('{{.ID}}', info), 'ffffffffffff');
    assert.equal(renderTag('app/{{.Name}}/{{ .ImageID }}', info), 'app/web/aaaaaaaaaaaa');
    assert.equal(renderTag('{{.FullID}}', info), 'f'.repeat(64));
    assert.equal(renderTag('{{.ImageName}} {{.Command}}', info), 'busybox:latest sh -c echo hi');
    assert.equal(renderTag('plain', info), 'plain');
    assert.deepEqual(extraAttributes({ ...info, config: { tag: '{{.Name}}' } }), { tag: 'web' });
    assert.throws(() => renderTag('{{.Nope}}', info), /can't evaluate field Nope in type \*logger.Info/);
    assert.throws(() => renderTag('{{.Name | upper}}', info), InvalidParameterError);
  });
});
