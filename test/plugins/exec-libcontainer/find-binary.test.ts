import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from '../../../plugins/exec-libcontainer/find-binary.js';

describe('findBinary (exec.LookPath)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-findbin-'));
    await mkdir(join(dir, 'a-dir'));
    await writeFile(join(dir, 'plain'), '');
    await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'tool'), 0o755);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('finds a name along PATH and in the extra dirs', () => {
    assert.match(findBinary('sh') ?? '', /\/sh$/);
    assert.equal(findBinary('tool', [dir]), join(dir, 'tool'));
    assert.equal(findBinary('no-such-binary-here', [dir]), undefined);
  });

  it('takes an absolute path as it is, and refuses directories and files without an execute bit', () => {
    assert.equal(findBinary(join(dir, 'tool')), join(dir, 'tool'));
    assert.equal(findBinary(join(dir, 'a-dir')), undefined);
    assert.equal(findBinary(join(dir, 'plain')), undefined);
    assert.equal(findBinary('a-dir', [dir]), undefined);
  });

  it('searches PATH in order, a trailing slash or a repeated directory changing nothing', () => {
    const saved = process.env.PATH;
    try {
      process.env.PATH = `${join(dir, 'a-dir')}:${dir}/:${dir}:${saved ?? ''}`;
      assert.equal(findBinary('tool'), join(dir, 'tool'));
      process.env.PATH = `${dir}:${saved ?? ''}`;
      assert.equal(findBinary('tool', [dir]), join(dir, 'tool'));
    } finally {
      process.env.PATH = saved;
    }
  });
});
