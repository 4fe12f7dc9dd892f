import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterError } from '../../../kernel/index.js';
import { anonymousVolumeName, validateVolumeName } from '../../../plugins/volume-local/volume-names.js';
import { mountOptionsOf, needsMount, validateLocalOptions } from '../../../plugins/volume-local/local-options.js';
import { parseSize, ramInBytes } from '../../../lib/go-size.js';
import { listPredicate, prunePredicate, type FilterSubject } from '../../../plugins/volume-local/volume-filters.js';
import { rfc3339Local } from '../../../plugins/volume-local/created-at.js';

const invalid = (msg: string) => (e: Error) => e instanceof InvalidParameterError && e.message === msg;

describe('volume names', () => {
  it('accepts dockerd names and refuses the rest with its wording', () => {
    for (const ok of ['ab', 'my-vol', 'a.b_c-1', '0x', 'A9']) validateVolumeName(ok);
    assert.throws(() => validateVolumeName('x'), invalid('volume name is too short, names should be at least two alphanumeric characters'));
    assert.throws(() => validateVolumeName('a/b'), invalid(
      '"a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'));
    for (const bad of ['-ab', '.ab', '..', 'a b', 'a:b', '/abs']) assert.throws(() => validateVolumeName(bad), InvalidParameterError, bad);
  });

  it('anonymous names are 64 hex characters and differ', () => {
    const a = anonymousVolumeName();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, anonymousVolumeName());
  });
});

describe('local driver options', () => {
  it('accepts type/device/o together and no options at all', () => {
    validateLocalOptions(undefined);
    validateLocalOptions({});
    validateLocalOptions({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    validateLocalOptions({ type: 'none', device: '/srv', o: 'bind' });
    validateLocalOptions({ size: '0' });
  });

  it('refuses with dockerd messages', () => {
    assert.throws(() => validateLocalOptions({ foo: 'x' }), invalid('invalid option: "foo"'));
    assert.throws(() => validateLocalOptions({ type: 'tmpfs' }), invalid('missing required option: "device"'));
    assert.throws(() => validateLocalOptions({ device: 'tmpfs' }), invalid('missing required option: "type"'));
    assert.throws(() => validateLocalOptions({ o: 'size=1m', type: 'tmpfs' }), invalid('missing required option: "device"'));
    assert.throws(() => validateLocalOptions({ size: '10m' }), invalid('quota size requested but no quota support'));
    assert.throws(() => validateLocalOptions({ size: 'lots' }), invalid("invalid size: 'lots'"));
    assert.throws(() => validateLocalOptions({ type: 'cifs', device: '//srv:445/share' }), invalid("port not allowed in CIFS device URL, include 'port' in 'o='"));
    validateLocalOptions({ type: 'cifs', device: '//srv/share', o: 'port=445' });
  });

  it('derives the opts.json shape and whether a mount is needed', () => {
    assert.equal(mountOptionsOf(null), undefined);
    const m = mountOptionsOf({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    assert.deepEqual(m, { MountType: 'tmpfs', MountOpts: 'size=1m', MountDevice: 'tmpfs', Quota: { Size: 0 } });
    assert.equal(needsMount(m), true);
    assert.equal(needsMount(mountOptionsOf({ size: '0' })), false);
  });

  it('parses sizes as go-units', () => {
    assert.equal(ramInBytes('1m'), 1024 * 1024);
    assert.equal(ramInBytes('1.5KiB'), 1536);
    assert.equal(ramInBytes('10 MB'), 10 * 1024 * 1024);
    assert.equal(parseSize('10m', 1000), 10_000_000);
    assert.equal(parseSize('42', 1000), 42);
    assert.equal(parseSize('7b', 1000), 7);
    assert.throws(() => parseSize('10x', 1000), /^Error: invalid suffix: 'x'$/);
    assert.throws(() => parseSize('10mbs', 1000), /invalid suffix: 'mbs'/);
    assert.throws(() => parseSize('-1', 1000), /invalid size: '-1'/);
    assert.throws(() => parseSize('1.2.3', 1000), /strconv.ParseFloat: parsing "1.2.3": invalid syntax/);
  });
});

describe('volume filters', () => {
  const vols: FilterSubject[] = [
    { name: 'web-data', driver: 'local', labels: { app: 'web', tier: 'front' }, referenced: true },
    { name: 'db-data', driver: 'local', labels: { app: 'db' }, referenced: false },
    { name: 'a'.repeat(64), driver: 'local', labels: { 'com.docker.volume.anonymous': '' }, referenced: false },
    { name: 'plain', driver: 'local', labels: null, referenced: false },
  ];
  const names = (pred: (v: FilterSubject) => boolean) => vols.filter(pred).map((v) => v.name);

  it('lists by name (exact or regular expression), label, driver and dangling', () => {
    assert.deepEqual(names(listPredicate({})), vols.map((v) => v.name));
    assert.deepEqual(names(listPredicate({ name: ['data'] })), ['web-data', 'db-data']);
    assert.deepEqual(names(listPredicate({ name: ['^db'] })), ['db-data']);
    assert.deepEqual(names(listPredicate({ label: ['app'] })), ['web-data', 'db-data']);
    assert.deepEqual(names(listPredicate({ label: ['app=web', 'tier'] })), ['web-data']);
    assert.deepEqual(names(listPredicate({ driver: ['other'] })), []);
    assert.deepEqual(names(listPredicate({ dangling: ['true'] })), ['db-data', 'a'.repeat(64), 'plain']);
    assert.deepEqual(names(listPredicate({ dangling: ['0'] })), ['web-data']);
    assert.throws(() => listPredicate({ dangling: ['yes'] }), invalid("invalid filter 'dangling=[yes]'"));
    assert.throws(() => listPredicate({ dangling: ['true', 'false'] }), invalid("invalid filter 'dangling=[true false]'"));
  });

  it('prunes only anonymous volumes unless all=true, narrowed by label and label!', () => {
    assert.deepEqual(names(prunePredicate({})), ['a'.repeat(64)]);
    assert.deepEqual(names(prunePredicate({ all: ['true'] })), vols.map((v) => v.name));
    assert.deepEqual(names(prunePredicate({ all: ['1'], label: ['app'] })), ['web-data', 'db-data']);
    assert.deepEqual(names(prunePredicate({ all: ['true'], 'label!': ['app=web'] })), ['db-data', 'a'.repeat(64), 'plain']);
    assert.deepEqual(names(prunePredicate({ all: ['false'] })), ['a'.repeat(64)]);
    assert.throws(() => prunePredicate({ all: ['true', 'false'] }), invalid("invalid filter 'all=[true false]': only one value is expected"));
    assert.throws(() => prunePredicate({ all: ['yes'] }), invalid('invalid filter \'all\': strconv.ParseBool: parsing "yes": invalid syntax'));
  });
});

describe('CreatedAt', () => {
  it('is RFC 3339 in local time, seconds precision', () => {
    const d = new Date('2026-03-04T05:06:07.890Z');
    const s = rfc3339Local(d);
    assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.equal(new Date(s).getTime(), Date.parse('2026-03-04T05:06:07Z'));
  });
});
