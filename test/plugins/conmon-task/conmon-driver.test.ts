import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError, SystemError, type TaskSpec, type TaskStatus } from '../../../kernel/index.js';
import { ConmonDriver, ConmonTaskFiles, saveRecord, type ConmonTaskRecord } from '../../../plugins/conmon-task/index.js';
import { FakeTask, record, writeExit } from './fake-task.js';

/** The shared driver with a runtime that answers `running` on restore. */
class FakeDriver extends ConmonDriver<ConmonTaskFiles, ConmonTaskRecord, FakeTask> {
  readonly asked: string[] = [];
  constructor(private readonly dir: string, conmonPath = '/nonexistent/conmon') {
    super({ stateDir: join(dir, 'state'), spoolDir: join(dir, 'spool'), conmonPath });
  }
  protected taskFiles(id: string): ConmonTaskFiles { return new ConmonTaskFiles(join(this.dir, 'state'), join(this.dir, 'spool'), id); }
  protected newTask(files: ConmonTaskFiles, r: ConmonTaskRecord, status: TaskStatus): FakeTask {
    return new FakeTask(files, r, { conmonPath: '/nonexistent/conmon', forget: this.forget }, status);
  }
  protected async restoredStatus(_files: ConmonTaskFiles, r: ConmonTaskRecord): Promise<TaskStatus> {
    this.asked.push(r.id);
    return 'running';
  }
  // The protected steps, for the test.
  readonly discarded: string[] = [];
  files(id: string) { return this.newTaskFiles(id, async (f) => { this.discarded.push(f.id); }); }
  open() { this.assertOpen(); }
  dirs(files: ConmonTaskFiles) { return this.makeTaskDirs(files, { process: { args: ['sh'] } } as never); }
  baseOf(spec: TaskSpec) { return this.baseRecord(spec, 'fake', { process: { args: ['/bin/app', 'x'], terminal: true } } as never); }
  launch(files: ConmonTaskFiles, spec: TaskSpec, r: ConmonTaskRecord, undo: () => Promise<void>) {
    return this.launchTask(files, spec, r, { runtimePath: '/bin/true', runtimeArgs: [], pidFile: join(files.bundle, 'pid'), terminal: false, undo });
  }
}

const spec = (id: string, over: Partial<TaskSpec['config']['Config']> = {}): TaskSpec => ({
  id,
  rootfs: '/nonexistent',
  config: { Path: 'sh', Args: [], Config: { User: 'app', ...over }, HostConfig: {} },
  io: { terminal: false },
});

/** A task as a previous daemon left it: task.json, and the exit file when its process ended. */
async function leaveTask(dir: string, id: string, exitCode?: number): Promise<ConmonTaskFiles> {
  const files = new ConmonTaskFiles(join(dir, 'state'), join(dir, 'spool'), id);
  await mkdir(files.bundle, { recursive: true });
  await saveRecord(files, record(id));
  if (exitCode !== undefined) await writeExit(files, exitCode);
  return files;
}

describe('conmon-task: the driver steps shared by the conmon drivers', () => {
  let dir: string;
  let driver: FakeDriver;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conmon-driver-'));
    driver = new FakeDriver(dir);
  });
  afterEach(async () => {
    await driver.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the tasks that have a task.json, none before the first', async () => {
    assert.deepEqual(await driver.list(), []);
    await leaveTask(dir, 'a');
    await leaveTask(dir, 'b', 0);
    await mkdir(join(dir, 'state', 'tasks', 'half-created'), { recursive: true });
    assert.deepEqual((await driver.list()).sort(), ['a', 'b']);
  });

  it('restores from task.json: stopped when conmon wrote the exit, else as the runtime says; once per id', async () => {
    await leaveTask(dir, 'live');
    await leaveTask(dir, 'dead', 9);
    assert.equal(await driver.restore('missing'), undefined);
    const live = (await driver.restore('live'))!;
    assert.equal(await live.status(), 'running');
    assert.equal(live.pid, 4242);
    const dead = (await driver.restore('dead'))!;
    assert.equal(await dead.status(), 'stopped');
    assert.equal((await dead.wait()).exitCode, 9);
    assert.deepEqual(driver.asked, ['live'], 'the runtime is asked only about tasks without an exit');
    assert.equal(await driver.restore('live'), live);
    await dead.delete();
    assert.equal(await driver.restore('dead'), undefined, 'a deleted task is forgotten and its files are gone');
  });

  it('refuses task ids that are not file names, and ids in use', async () => {
    await assert.rejects(driver.files('../x'), (e: Error) => e instanceof InvalidParameterError && e.message === 'invalid task id: ../x');
    await assert.rejects(driver.files('-x'), /invalid task id/);
    await leaveTask(dir, 'taken');
    await assert.rejects(driver.files('taken'), (e: Error) => e instanceof InvalidParameterError && e.message === 'task taken already exists');
    assert.equal((await driver.files('fresh')).id, 'fresh');
    assert.deepEqual(driver.discarded, [], 'nothing to clear for a fresh id');
  });

  it('clears what a create killed before its task.json left: the monitor, the runtime state and the directories', async () => {
    const files = new ConmonTaskFiles(join(dir, 'state'), join(dir, 'spool'), 'cut');
    await driver.dirs(files);
    // A stand-in monitor whose command line names the bundle, as conmon's does (-b <bundle>).
    const monitor = spawn('sh', ['-c', 'sleep 60', files.bundle], { stdio: 'ignore' });
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await writeFile(files.monitorPid, String(monitor.pid));
      const gone = once(monitor, 'exit');
      const again = await driver.files('cut');
      assert.equal(again.bundle, files.bundle);
      assert.deepEqual(driver.discarded, ['cut'], "the driver's runtime state is discarded");
      assert.equal(existsSync(files.bundle), false);
      assert.equal(existsSync(files.spool), false);
      assert.deepEqual(await gone, [null, 'SIGKILL']);
      // A recorded pid now used by a process that does not name the bundle is left alone.
      await driver.dirs(files);
      await writeFile(files.monitorPid, String(unrelated.pid));
      await driver.files('cut');
      assert.equal(unrelated.exitCode, null);
      assert.doesNotThrow(() => process.kill(unrelated.pid!, 0));
    } finally {
      monitor.kill('SIGKILL');
      unrelated.kill('SIGKILL');
    }
  });

  it('builds the common record from the spec and the create options', () => {
    const r = driver.baseOf(spec('c1', { OpenStdin: true }));
    assert.equal(r.command, '/bin/app');
    assert.equal(r.terminal, true);
    assert.equal(r.stdin, true);
    assert.equal(r.user, 'app');
    assert.equal(r.runtime, 'fake');
    assert.equal(r.pid, 0);
    assert.equal(r.monitorPid, 0);
    assert.ok(r.cgroupVersion === '1' || r.cgroupVersion === '2');
    assert.equal(driver.baseOf({ ...spec('c2'), io: { terminal: false, stdin: process.stdin } }).stdin, true);
    assert.equal(driver.baseOf(spec('c3')).stdin, false);
  });

  it('makes the task directories and saves task.json whole', async () => {
    const files = await driver.files('c1');
    await driver.dirs(files);
    assert.equal(statSync(files.bundle).mode & 0o777, 0o711);
    assert.equal(statSync(files.spool).mode & 0o777, 0o700);
    assert.equal(statSync(files.output).mode & 0o777, 0o600);
    assert.ok(existsSync(files.exitsDir));
    assert.deepEqual(JSON.parse(await readFile(files.spec, 'utf8')), { process: { args: ['sh'] } });
    await saveRecord(files, record('c1'));
    assert.equal(JSON.parse(await readFile(files.record, 'utf8')).id, 'c1');
    assert.deepEqual((await readdir(files.bundle)).filter((n) => n.endsWith('.tmp')), []);
  });

  it('makes the shared exits directory once per driver, and tries again after a failure', async () => {
    // The state directory is a file: the first task cannot get its exits directory.
    await writeFile(join(dir, 'state'), '');
    await assert.rejects(async () => driver.dirs(await driver.files('c1')));
    await rm(join(dir, 'state'));
    const files = await driver.files('c2');
    await driver.dirs(files);
    assert.ok(existsSync(files.exitsDir));
    assert.ok(existsSync(files.bundle));
  });

  it('a failed conmon launch undoes the runtime state and removes the task\'s directories', async () => {
    const files = await driver.files('c1');
    await driver.dirs(files);
    let undone = false;
    await assert.rejects(driver.launch(files, spec('c1'), record('c1'), async () => { undone = true; }), SystemError);
    assert.equal(undone, true);
    assert.equal(existsSync(files.bundle), false);
    assert.equal(existsSync(files.spool), false);
  });

  it('dispose leaves tasks alone but stops following them; a disposed driver creates nothing', async () => {
    await leaveTask(dir, 'live');
    const live = (await driver.restore('live'))!;
    const waiting = live.wait();
    await driver.dispose();
    await assert.rejects(waiting, /wait aborted/);
    assert.deepEqual(live.calls, []);
    assert.throws(() => driver.open(), (e: Error) => e instanceof InvalidParameterError && e.message === 'exec driver is disposed');
    assert.ok(existsSync(join(dir, 'state', 'tasks', 'live', 'task.json')));
  });
});
