import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { InvalidParameterError } from '../../../kernel/index.js';
import { chainIds, shortId } from '../../../plugins/image-store/digest.js';
import {
  familiarString, parseAnyReference, parseNormalizedNamed, pullReference, refString, repoTagReference,
} from '../../../plugins/image-store/reference.js';

/** The spec's formula run by the shell, not by our code. */
function shellChain(parent: string, diff: string): string {
  return 'sha256:' + execFileSync('sh', ['-c', `printf '%s %s' "$0" "$1" | sha256sum`, parent, diff]).toString().split(' ')[0];
}

describe('image store identifiers', () => {
  const diffs = [
    'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4',
    'sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1',
    'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
  ];

  it('chain IDs follow identity.ChainID (computed independently with sha256sum)', () => {
    const c = chainIds(diffs);
    assert.equal(c[0], diffs[0]);
    assert.equal(c[1], shellChain(diffs[0]!, diffs[1]!));
    assert.equal(c[2], shellChain(c[1]!, diffs[2]!));
    assert.deepEqual(chainIds([]), []);
    assert.equal(shortId(diffs[0]!), 'a3ed95caeb02');
  });

  it('normalises names as distribution/reference does and prints them familiar', () => {
    const cases: Array<[string, string, string]> = [
      ['busybox', 'docker.io/library/busybox', 'busybox'],
      ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
      ['library/busybox', 'docker.io/library/busybox', 'busybox'],
      ['index.docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
      ['user/app:v1', 'docker.io/user/app:v1', 'user/app:v1'],
      ['localhost:5000/a/b:2', 'localhost:5000/a/b:2', 'localhost:5000/a/b:2'],
      ['localhost/x', 'localhost/x', 'localhost/x'],
      ['[::1]:5000/x:1', '[::1]:5000/x:1', '[::1]:5000/x:1'],
      [`x@sha256:${'a'.repeat(64)}`, `docker.io/library/x@sha256:${'a'.repeat(64)}`, `x@sha256:${'a'.repeat(64)}`],
    ];
    for (const [input, full, familiar] of cases) {
      const ref = parseNormalizedNamed(input);
      assert.equal(refString(ref), full, input);
      assert.equal(familiarString(ref), familiar, input);
    }
  });

  it('refuses malformed names with dockerd wording', () => {
    const bad: Array<[string, RegExp]> = [
      ['Foo', /^invalid reference format: repository name \(library\/Foo\) must be lowercase$/],
      ['a'.repeat(64), /cannot specify 64-byte hexadecimal strings/],
      ['foo:bar:baz', /^invalid reference format$/],
      ['', /invalid reference format/],
      [`x@sha256:abc`, /invalid reference format/],
    ];
    for (const [input, re] of bad) {
      assert.throws(() => parseNormalizedNamed(input), (e: Error) => e instanceof InvalidParameterError && re.test(e.message), input);
    }
  });

  it('reads IDs and digests as ParseAnyReference does', () => {
    const hex = 'b'.repeat(64);
    assert.deepEqual(parseAnyReference(hex), { id: `sha256:${hex}` });
    assert.deepEqual(parseAnyReference(`sha256:${hex}`), { id: `sha256:${hex}` });
    assert.equal(refString(parseAnyReference('sha256:abc') as never), 'docker.io/library/sha256:abc');
  });

  it('builds import/tag references from repo and tag (RepoTagReference)', () => {
    assert.equal(repoTagReference('', 'x'), null);
    assert.equal(familiarString(repoTagReference('app', undefined)!), 'app:latest');
    assert.equal(familiarString(repoTagReference('app:1', undefined)!), 'app:1');
    assert.equal(familiarString(repoTagReference('app:1', '2')!), 'app:2');
    assert.throws(() => repoTagReference(`app@sha256:${'c'.repeat(64)}`, undefined), /cannot import digest reference/);
    assert.throws(() => repoTagReference('app', '-bad'), /invalid tag format/);
  });

  it('checks pull references (trailing colon, digest tags, scratch)', () => {
    assert.equal(refString(pullReference('alpine:', undefined)), 'docker.io/library/alpine:latest');
    assert.equal(refString(pullReference('docker.io/library/alpine', '3.19')), 'docker.io/library/alpine:3.19');
    assert.equal(refString(pullReference('alpine', `sha256:${'d'.repeat(64)}`)), `docker.io/library/alpine@sha256:${'d'.repeat(64)}`);
    assert.throws(() => pullReference('scratch', undefined), /'scratch' is a reserved name/);
  });
});
