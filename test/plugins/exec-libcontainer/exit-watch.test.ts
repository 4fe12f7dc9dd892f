import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExit, waitForExit } from '../../../plugins/exec-libcontainer/exit-watch.js';

describe('exec-libcontainer exit files', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-exit-watch-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads conmon\'s status with the file\'s mtime as the exit time; nothing while missing or empty', async () => {
    const exit = join(dir, 'exit');
    assert.equal(await readExit(exit), undefined);
    await writeFile(exit, '');
    assert.equal(await readExit(exit), undefined, 'being written');
    await writeFile(exit, '137');
    const when = new Date('2026-01-02T03:04:05.678Z');
    await utimes(exit, when, when);
    assert.deepEqual(await readExit(exit), { exitCode: 137, oomKilled: false, exitedAt: (await stat(exit)).mtime });
    assert.equal((await readExit(exit))!.exitedAt.getTime(), when.getTime());
  });

  it('maps an unreadable or negative status to 255 and tells OOM kills by the marker', async () => {
    const exit = join(dir, 'exit2');
    const oom = join(dir, 'oom2');
    await writeFile(exit, '-1\n');
    assert.equal((await readExit(exit, oom))!.exitCode, 255);
    assert.equal((await readExit(exit, oom))!.oomKilled, false);
    await writeFile(oom, '');
    await writeFile(exit, '  0\n');
    assert.deepEqual([(await readExit(exit, oom))!.exitCode, (await readExit(exit, oom))!.oomKilled], [0, true]);
  });

  it('wakes a waiter when the status appears', async () => {
    const exit = join(dir, 'exit3');
    const waiting = waitForExit(exit, { monitorPid: process.pid });
    setTimeout(() => void writeFile(exit, '3'), 50);
    assert.equal((await waiting).exitCode, 3);
  });
});
