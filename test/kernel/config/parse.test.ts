import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigBytes } from '../../../kernel/config/index.js';
import { InvalidParameterError } from '../../../kernel/errors.js';

const parse = (text: string) => parseConfigBytes(Buffer.from(text, 'utf8'));

/** Asserts an InvalidParameterError whose message matches exactly (string) or the pattern. */
function throwsConfig(fn: () => unknown, expected: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidParameterError, `expected InvalidParameterError, got ${String(err)}`);
    if (typeof expected === 'string') assert.equal(err.message, expected);
    else assert.match(err.message, expected);
    return true;
  });
}

test('unknown keys are named, sorted, in dockerd wording', () => {
  throwsConfig(() => parse('{"debug": true, "zeta": 1, "alpha": 2}'),
    "the following directives don't match any configuration option: alpha, zeta");
});

test('Object.prototype names are not configuration keys', () => {
  throwsConfig(() => parse('{"constructor": 1, "__proto__": {"toString": 2}, "hasOwnProperty": 3}'),
    "the following directives don't match any configuration option: constructor, hasOwnProperty, toString");
});

test('a typed decode mismatch names the key', () => {
  throwsConfig(() => parse('{"debug": "yes"}'),
    'invalid JSON: json: cannot unmarshal string into Go struct field Config.debug of type bool');
  throwsConfig(() => parse('{"mtu": 1.5}'), 'invalid JSON: json: cannot unmarshal number 1.5 into Go struct field Config.mtu of type int');
  throwsConfig(() => parse('{"log-opts": {"max-size": 10}}'), /Config\.log-opts of type string/);
  throwsConfig(() => parse('{"runtimes": {"crun": {"path": 1}}}'), /Config\.runtimes\.path of type string/);
  throwsConfig(() => parse('{"default-shm-size": 64}'), /^invalid JSON: invalid size: "64".*default-shm-size/);
});

test('several type errors are all reported, one per line', () => {
  throwsConfig(() => parse('{"debug": 1, "hosts": "unix:///x"}'), (/Config\.debug[\s\S]*\n[\s\S]*Config\.hosts/));
});

test('bad JSON is "invalid JSON: ..."', () => {
  throwsConfig(() => parse('{"debug": true,'), /^invalid JSON: /);
  throwsConfig(() => parse('[1, 2]'), 'invalid JSON: json: cannot unmarshal array into Go value of type map[string]interface {}');
});

test('empty and whitespace-only files are an empty config', () => {
  assert.deepEqual(parse(''), {});
  assert.deepEqual(parse(' \n\t\r\n '), {});
  assert.deepEqual(parse('{}'), {});
});

test('UTF-8 BOM, UTF-16LE BOM and UTF-16BE BOM are decoded', () => {
  const json = '{"debug": true, "labels": ["owner=\u00e9quipe"]}';
  const expected = { debug: true, labels: ['owner=\u00e9quipe'] };
  assert.deepEqual(parseConfigBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json, 'utf8')])), expected);
  assert.deepEqual(parseConfigBytes(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')])), expected);
  const be = Buffer.from(json, 'utf16le').swap16();
  assert.deepEqual(parseConfigBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), expected);
});

test('invalid UTF-8 fails with the offset of the bad byte', () => {
  throwsConfig(() => parseConfigBytes(Buffer.from([0x7b, 0x20, 0xc3, 0x28, 0x7d])),
    'failed to decode configuration JSON at offset 2: encoding: invalid UTF-8');
  // UTF-16 without a BOM is not guessed: it is invalid UTF-8 JSON-wise (NULs) → invalid JSON.
  throwsConfig(() => parseConfigBytes(Buffer.from('{"debug": true}', 'utf16le')), /^invalid JSON: /);
});

test('nested objects are flattened one level, except flat options', () => {
  const cfg = parse(JSON.stringify({
    proxies: { 'http-proxy': 'http://proxy:3128', 'no-proxy': 'localhost' },
    'log-opts': { 'max-size': '10m' },
    runtimes: { crun: { path: '/usr/bin/crun' } },
    berth: { plugins: { 'graph-overlay': { x: 1 } } },
  }));
  assert.deepEqual(cfg, {
    'http-proxy': 'http://proxy:3128',
    'no-proxy': 'localhost',
    'log-opts': { 'max-size': '10m' },
    runtimes: { crun: { path: '/usr/bin/crun' } },
    berth: { plugins: { 'graph-overlay': { x: 1 } } },
  });
  // A child of a nested object is checked as a top-level key: unknown ones are named.
  throwsConfig(() => parse('{"proxies": {"ftp-proxy": "x"}}'), "the following directives don't match any configuration option: ftp-proxy");
  // Flat options are not flattened: their members are never taken for keys.
  assert.deepEqual(parse('{"features": {"not-a-key": true}}'), { features: { 'not-a-key': true } });
});

test('as in dockerd, a proxy key outside "proxies" passes the check but is ignored', () => {
  assert.deepEqual(parse('{"http-proxy": "http://p:1"}'), {});
  // and "proxies" itself must be an object
  throwsConfig(() => parse('{"proxies": "http://p:1"}'), "the following directives don't match any configuration option: proxies");
});

test('removed and tolerated keys', () => {
  throwsConfig(() => parse('{"graph": "/var/lib/docker"}'), 'the "graph" config file option is deprecated; use "data-root" instead');
  throwsConfig(() => parse('{"cluster-store": "consul://x"}'), "the following directives don't match any configuration option: cluster-store");
  assert.deepEqual(parse('{"allow-nondistributable-artifacts": ["r:5000"], "debug": true}'), { debug: true });
});

test('null leaves a key unset, as Go does', () => {
  assert.deepEqual(parse('{"debug": null, "mtu": 1400}'), { mtu: 1400 });
});
