import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHelper } from '../../../plugins/exec-libcontainer/spawn-helper.js';

const skip = !spawnHelper.available() ? 'no perl here' : false;
const SH = '/bin/sh';

describe('exec-libcontainer spawn helper (children forked by a long-lived helper, not by the daemon)', { skip }, () => {
  const dirs: string[] = [];
  after(async () => {
    spawnHelper.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('runs the command in its directory with exactly the given environment; fd 3 and stderr come back', async () => {
    const d = await realpath(await mkdtemp(join(tmpdir(), 'berth-spawn-helper-')));
    dirs.push(d);
    const r = await spawnHelper.run(SH, ['-c', 'printf "%s|%s|%s\\n" "$(pwd)" "$FOO" "${HOME:-unset}" >&3; echo "to stderr" >&2; exit 3'], d, { FOO: 'a b=c', PATH: '/usr/bin:/bin' });
    assert.equal(r.code, 3);
    assert.equal(r.signal, null);
    assert.equal(r.fd3.toString(), `${d}|a b=c|unset\n`);
    assert.equal(r.stderr.toString(), 'to stderr\n');
  });

  it('stdin and stdout are /dev/null; a signal-ended child reports the signal', async () => {
    const r = await spawnHelper.run(SH, ['-c', 'i=$(readlink /proc/$$/fd/0); o=$(readlink /proc/$$/fd/1); echo "$i" >&3; echo "$o" >&3; kill -TERM $$'], '/', { PATH: '/usr/bin:/bin' });
    assert.equal(r.fd3.toString(), '/dev/null\n/dev/null\n');
    assert.equal(r.code, null);
    assert.equal(r.signal, 15);
  });

  it('answers at the first line on fd 3 even when a background process keeps fd 3 open (conmon -e)', async () => {
    const t0 = Date.now();
    const r = await spawnHelper.run(SH, ['-c', 'echo \'{"data": 42}\' >&3; (sleep 5 >&3 2>/dev/null &) ; exit 0'], '/', { PATH: '/usr/bin:/bin' });
    assert.equal(r.code, 0);
    assert.equal(r.fd3.toString(), '{"data": 42}\n');
    assert.ok(Date.now() - t0 < 4000, 'did not wait for the background process');
  });

  it('hands a sealed memfd copy of a file in place of its path, made again when the file changes', async () => {
    const d = await realpath(await mkdtemp(join(tmpdir(), 'berth-spawn-helper-')));
    dirs.push(d);
    const bin = join(d, 'runc');
    await writeFile(bin, 'first version\n');
    // The child reports what it was given: the path, what it names, the seals on it (F_GET_SEALS,
    // through perl), and the content; then whether a write to it is refused.
    const probe = [
      '-c',
      'p=$1; echo "$p" >&3; readlink "$p" >&3; perl -e \'open(F, "<", $ARGV[0]) or die; print fcntl(F, 1034, 0), "\\n"\' "$p" >&3; cat "$p" >&3; ' +
        '(echo x >> "$p") 2>/dev/null && echo writable >&3 || echo refused >&3',
      'sh',
      bin,
    ];
    const ask = async () => {
      const r = await spawnHelper.run(SH, probe, '/', { PATH: '/usr/bin:/bin' }, [bin]);
      assert.equal(r.code, 0, r.stderr.toString());
      const [path, target, seals, content, write] = r.fd3.toString().split('\n');
      return { path, target, seals, content, write };
    };
    const one = await ask();
    assert.match(one.path!, new RegExp(`^/proc/${spawnHelper.pid}/fd/\\d+$`));
    assert.match(one.target!, /^\/memfd:runc/);
    // F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: what runc checks to trust the copy.
    assert.equal(one.seals, '15');
    assert.equal(one.content, 'first version');
    assert.equal(one.write, 'refused');
    // Unchanged file: the same copy.
    assert.equal((await ask()).path, one.path);
    // A new version of the file (replaced by a rename, as a package upgrade does): a new copy of it.
    await writeFile(`${bin}.new`, 'second version\n');
    await rename(`${bin}.new`, bin);
    const two = await ask();
    assert.notEqual(two.path, one.path);
    assert.equal(two.content, 'second version');
    assert.equal(two.seals, '15');
    // Arguments that are not a sealed path, and a request without any, are passed as they are.
    const plain = await spawnHelper.run(SH, ['-c', 'echo "$1" >&3', 'sh', bin], '/', {});
    assert.equal(plain.fd3.toString(), `${bin}\n`);
  });

  it('a command that cannot be executed exits 127 with the reason on stderr', async () => {
    const r = await spawnHelper.run('/nonexistent/berth-cmd', [], '/', {});
    assert.equal(r.code, 127);
    assert.match(r.stderr.toString(), /exec \/nonexistent\/berth-cmd: No such file or directory/);
    const cwd = await spawnHelper.run(SH, ['-c', 'true'], '/nonexistent-dir-berth', {});
    assert.equal(cwd.code, 127);
    assert.match(cwd.stderr.toString(), /chdir \/nonexistent-dir-berth/);
  });

  it('serves side-by-side children (a slow one does not hold up a quick one), and starts again after the helper died', async () => {
    const slow = spawnHelper.run(SH, ['-c', 'sleep 1; echo slow >&3'], '/', {});
    const quick = await spawnHelper.run(SH, ['-c', 'echo quick >&3'], '/', {});
    assert.equal(quick.fd3.toString(), 'quick\n');
    let slowDone = false;
    void slow.then(() => { slowDone = true; });
    assert.equal(slowDone, false);
    assert.equal((await slow).fd3.toString(), 'slow\n');
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => spawnHelper.run(SH, ['-c', `echo ${i} >&3; exit ${i}`], '/', {})));
    many.forEach((r, i) => { assert.equal(r.code, i); assert.equal(r.fd3.toString(), `${i}\n`); });

    const pid = spawnHelper.pid;
    assert.ok(pid);
    const pending = spawnHelper.run(SH, ['-c', 'sleep 2'], '/', {});
    process.kill(pid, 'SIGKILL');
    await assert.rejects(pending, /spawn helper: exited/);
    const again = await spawnHelper.run(SH, ['-c', 'echo again >&3'], '/', {});
    assert.equal(again.fd3.toString(), 'again\n');
    assert.notEqual(spawnHelper.pid, pid);
  });
});

describe('exec-libcontainer spawn helper opt-out', () => {
  it('is not used with BERTH_SPAWN_HELPER=0 (the daemon spawns conmon itself)', () => {
    const saved = process.env.BERTH_SPAWN_HELPER;
    process.env.BERTH_SPAWN_HELPER = '0';
    try {
      assert.equal(spawnHelper.available(), false);
    } finally {
      if (saved === undefined) delete process.env.BERTH_SPAWN_HELPER;
      else process.env.BERTH_SPAWN_HELPER = saved;
    }
  });
});
