import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandMissingError, commandPath, runChecked, runCommand } from '../../../plugins/graph-common/run-command.js';

describe('graph-common runCommand', () => {
  it('runs a command found along PATH by its absolute path, looked up once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-runcmd-'));
    const savedPath = process.env.PATH;
    try {
      const name = `berth-test-tool-${process.pid}`;
      await writeFile(join(dir, name), '#!/bin/sh\necho "ran $0 $1"\n');
      await chmod(join(dir, name), 0o755);
      // A directory where the name is not executable comes first: skipped, as execvp skips it.
      await writeFile(join(dir, 'not-exec'), '');
      process.env.PATH = `${join(dir, 'nowhere')}:${dir}:${savedPath}`;
      assert.equal(commandPath(name), join(dir, name));
      assert.equal((await runChecked(name, ['x'])).stdout.toString(), `ran ${join(dir, name)} x\n`);
      // Cached: another PATH does not change an answer already found.
      process.env.PATH = savedPath;
      assert.equal(commandPath(name), join(dir, name));
      // Gone: the spawn fails as a missing command and the next lookup starts over.
      await rm(join(dir, name));
      await assert.rejects(runCommand(name, []), CommandMissingError);
      assert.equal(commandPath(name), name);
    } finally {
      process.env.PATH = savedPath;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves absolute and relative paths and unknown names as they are', async () => {
    assert.equal(commandPath('/bin/sh'), '/bin/sh');
    assert.equal(commandPath('./tool'), './tool');
    assert.equal(commandPath('no-such-command-berth'), 'no-such-command-berth');
    await assert.rejects(runCommand('no-such-command-berth', []), CommandMissingError);
  });
});
