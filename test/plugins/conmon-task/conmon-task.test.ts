import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError } from '../../../kernel/index.js';
import { ConmonTaskFiles } from '../../../plugins/conmon-task/index.js';
import { FakeTask, record, writeExit } from './fake-task.js';

describe('conmon-task: the Task state machine shared by the conmon drivers', () => {
  let dir: string;
  let files: ConmonTaskFiles;
  const tasks: FakeTask[] = [];
  const make = (initial: 'created' | 'running' | 'paused' | 'stopped', forget?: (id: string) => void) => {
    const t = new FakeTask(files, record('c1'), { conmonPath: '/nonexistent/conmon', forget }, initial);
    tasks.push(t);
    return t;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conmon-task-'));
    files = new ConmonTaskFiles(join(dir, 'state'), join(dir, 'spool'), 'c1');
    await mkdir(files.bundle, { recursive: true });
    await mkdir(files.spool, { recursive: true });
    await writeFile(files.output, '');
  });
  afterEach(async () => {
    for (const t of tasks.splice(0)) t.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('lays out conmon files under the bundle and the spool', () => {
    assert.equal(files.bundle, join(dir, 'state', 'tasks', 'c1'));
    assert.equal(files.spec, join(files.bundle, 'config.json'));
    assert.equal(files.record, join(files.bundle, 'task.json'));
    assert.equal(files.exit, join(files.bundle, 'exit'));
    assert.equal(files.sharedExit, join(dir, 'state', 'exits', 'c1'));
    assert.equal(files.output, join(dir, 'spool', 'c1', 'output.log'));
    assert.equal(files.execDir('e1'), join(files.bundle, 'exec', 'e1'));
    assert.equal(files.execOutput('e1'), join(dir, 'spool', 'c1', 'exec-e1.log'));
  });

  it('refuses illegal transitions with containerd\'s wording and runs the legal ones', async () => {
    const t = make('created');
    assert.equal(t.output.path, files.output);
    await assert.rejects(t.pause(), (e: Error) => e instanceof ConflictError && e.message === 'cannot pause task in created state');
    await assert.rejects(t.resume(), (e: Error) => e instanceof ConflictError && e.message === 'cannot resume task in created state');
    await assert.rejects(t.exec('e1', { Cmd: ['ls'] }, { terminal: false }), (e: Error) => e instanceof ConflictError && e.message === 'container c1 is not running');
    await t.start();
    assert.equal(await t.status(), 'running');
    await assert.rejects(t.start(), /cannot start a running process/);
    await assert.rejects(t.resume(), /cannot resume a running process/);
    await t.pause();
    assert.equal(await t.status(), 'paused');
    await assert.rejects(t.start(), /cannot start a paused process/);
    await assert.rejects(t.pause(), /cannot pause a paused container/);
    await assert.rejects(t.exec('e1', { Cmd: ['ls'] }, { terminal: false }), /cannot exec in a paused state/);
    await assert.rejects(t.delete(), /cannot delete a paused process/);
    await t.resume();
    await t.kill('term');
    await t.update({});
    assert.deepEqual(t.calls, ['launch', 'freeze', 'thaw', 'signal SIGTERM running', 'update running']);
    await assert.rejects(t.kill('NOSUCH'), InvalidParameterError);
  });

  it('moves to stopped once conmon wrote the exit file, whatever the tracked state', async () => {
    const t = make('running');
    await writeExit(files, 3);
    assert.equal(await t.status(), 'stopped');
    await assert.rejects(t.kill('SIGKILL'), (e: Error) => e instanceof ConflictError && e.message === 'process already finished');
    await assert.rejects(t.start(), /cannot start a stopped process/);
    await assert.rejects(t.pause(), /cannot pause a stopped container/);
    await assert.rejects(t.update({}), /cannot update a stopped container/);
    await assert.rejects(t.stats(), /container c1 is not running/);
    assert.deepEqual(await t.pids(), []);
    assert.deepEqual(t.calls, []);
  });

  it('a failed signal is "process already finished" when the process exited meanwhile, else the runtime\'s error', async () => {
    const t = make('running');
    t.signalError = new Error('runtime: no such process');
    await assert.rejects(t.kill(15), (e: Error) => e === t.signalError);
    t.exitDuringSignal = 143;
    await assert.rejects(t.kill(15), (e: Error) => e instanceof ConflictError && e.message === 'process already finished' && e.cause === t.signalError);
    assert.deepEqual(t.calls, ['signal SIGTERM running', 'signal SIGTERM running']);
  });

  it('wait resolves with the exit conmon wrote, through the runtime\'s correction', async () => {
    const t = make('running');
    t.corrected = 42;
    const waiting = t.wait();
    await writeExit(files, 0);
    const e = await waiting;
    assert.equal(e.exitCode, 42);
    assert.equal(e.oomKilled, false);
    assert.equal(await t.status(), 'stopped');
    assert.equal(t.wait(), t.wait(), 'one wait promise per task');
  });

  it('exec checks the id, refuses a duplicate and builds from the spec in config.json', async () => {
    const t = make('running');
    await writeFile(files.spec, JSON.stringify({ process: { args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0 } } }));
    await assert.rejects(t.exec('../escape', { Cmd: ['ls'] }, { terminal: false }), (e: Error) => e instanceof InvalidParameterError && e.message === 'invalid exec id: ../escape');
    const p = await t.exec('e1', { Cmd: ['ls'] }, { terminal: false });
    assert.equal(p.id, 'e1');
    assert.deepEqual(t.lastExecSpec?.process.args, ['sh']);
    assert.equal(p.output?.path, files.execOutput('e1'));
    await assert.rejects(t.exec('e1', { Cmd: ['ls'] }, { terminal: false }), (e: Error) => e instanceof ConflictError && e.message === 'exec e1 already exists');
    // Not started: an exec cannot be signalled or waited for.
    await assert.rejects(p.kill('SIGTERM'), /exec e1 is not running/);
    await assert.rejects(p.wait(), /exec e1 is not started/);
  });

  it('force-delete kills, thaws a paused task, waits for its exit and removes its files', async () => {
    const forgotten: string[] = [];
    const t = make('paused', (id) => forgotten.push(id));
    await mkdir(files.exitsDir, { recursive: true });
    await writeFile(files.sharedExit, '137');
    await t.delete({ force: true });
    assert.deepEqual(t.calls, ['forceKill', 'thaw', 'removeRuntimeState']);
    assert.deepEqual(forgotten, ['c1']);
    assert.equal(existsSync(files.bundle), false);
    assert.equal(existsSync(files.sharedExit), false);
    assert.equal(existsSync(files.spool), false);
    await assert.rejects(t.status(), (e: Error) => e instanceof NotFoundError && e.message === 'task c1 not found');
    await t.delete(); // a second delete is a no-op
  });

  it('deleting a stopped task asks nothing of the runtime but to remove its state', async () => {
    const t = make('running');
    await assert.rejects(t.delete(), (e: Error) => e instanceof ConflictError && e.message === 'cannot delete a running process');
    await writeExit(files, 0);
    await t.delete();
    assert.deepEqual(t.calls, ['removeRuntimeState']);
  });

  it('release stops waiting without touching the process', async () => {
    const t = make('running');
    const waiting = t.wait();
    t.release();
    await assert.rejects(waiting, /wait aborted/);
    assert.deepEqual(t.calls, []);
  });
});
