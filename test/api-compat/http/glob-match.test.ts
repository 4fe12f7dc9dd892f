import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch } from '../../../api-compat/http/glob-match.js';

describe("Go's path.Match for the images reference filter", () => {
  it('matches as Go does', () => {
    const cases: Array<[string, string, boolean]> = [
      ['busybox', 'busybox', true],
      ['busy*', 'busybox', true],
      ['*', 'localhost:5000/a', false], // * never crosses a slash
      ['*/*', 'library/busybox', true],
      ['bb:?', 'bb:1', true],
      ['bb:[0-9]', 'bb:7', true],
      ['bb:[^0-9]', 'bb:7', false],
      ['bb:[!x]', 'bb:!', true],
      ['a\\*b', 'a*b', true],
      ['a\\*b', 'axb', false],
      ['*:latest', 'app:latest', true],
      ['[a-c]pp', 'bpp', true],
    ];
    for (const [pattern, name, want] of cases) assert.equal(globMatch(pattern, name), want, `${pattern} ~ ${name}`);
  });

  it('rejects malformed patterns with ErrBadPattern', () => {
    for (const p of ['[', '[a-', 'x\\', '[]']) assert.throws(() => globMatch(p, 'x'), /syntax error in pattern/, p);
  });
});
