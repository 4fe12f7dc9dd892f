import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError } from '../../../kernel/index.js';
import { parseCriLine, splitLines } from '../../../plugins/exec-libcontainer/cri-log.js';
import { classifyRuntimeError, runtimeMessage } from '../../../plugins/exec-libcontainer/runc-cli.js';
import { signalName } from '../../../plugins/exec-libcontainer/signals.js';
import { translateStartError } from '../../../plugins/exec-libcontainer/start-errors.js';
import { TaskStartError } from '../../../kernel/index.js';

describe('exec-libcontainer runtime and IO helpers', () => {
  it('parses conmon CRI log lines: full lines keep their newline, partial ones do not', () => {
    const f = parseCriLine(Buffer.from('2026-11-27T18:46:04.398293424+00:00 stdout F hello'))!;
    assert.deepEqual({ ...f, data: f.data.toString() }, { time: '2026-11-27T18:46:04.398293424+00:00', stream: 'stdout', partial: false, data: 'hello\n' });
    const p = parseCriLine(Buffer.from('2026-11-27T18:46:04.398293424+00:00 stderr P abc'))!;
    assert.equal(p.data.toString(), 'abc');
    assert.equal(p.partial, true);
    assert.equal(parseCriLine(Buffer.from('2026-11-27T18:46:04Z stdout F '))?.data.toString(), '\n');
    assert.equal(parseCriLine(Buffer.from('garbage')), undefined);
    const { lines, rest } = splitLines(Buffer.from('a\nb'), Buffer.from('c\nd'));
    assert.deepEqual(lines.map(String), ['a', 'bc']);
    assert.equal(rest.toString(), 'd');
  });

  it('extracts runtime messages and classifies them', () => {
    assert.equal(runtimeMessage('time="2026-11-27T18:46:33Z" level=error msg="runc create failed: exec: \\"x\\": executable file not found in $PATH"\n'), 'runc create failed: exec: "x": executable file not found in $PATH');
    assert.equal(runtimeMessage('{"level":"error","msg":"container does not exist"}'), 'container does not exist');
    assert.ok(classifyRuntimeError('container does not exist') instanceof NotFoundError);
    assert.ok(classifyRuntimeError('cannot delete container c4 that is not stopped: running') instanceof ConflictError);
    assert.ok(classifyRuntimeError('container not running') instanceof ConflictError);
  });

  it('translates start failures like dockerd (127 not found, 126 permission denied)', () => {
    const nf = translateStartError('nosuch', new Error('exec: "nosuch": executable file not found in $PATH'));
    assert.ok(nf instanceof TaskStartError && nf.exitCode === 127 && nf.kind === 'invalid-parameter');
    const pd = translateStartError('/x', new Error('exec /x: permission denied'));
    assert.ok(pd instanceof TaskStartError && pd.exitCode === 126);
    const other = new Error('boom');
    assert.equal(translateStartError('x', other), other);
  });

  it('normalizes signals with or without SIG, and numbers', () => {
    assert.equal(signalName('TERM'), 'SIGTERM');
    assert.equal(signalName('sigkill'), 'SIGKILL');
    assert.equal(signalName(9), 'SIGKILL');
    assert.equal(signalName('15'), 'SIGTERM');
    assert.equal(signalName('SIGRTMIN+3'), '37');
    assert.throws(() => signalName('NOPE'), /Invalid signal: NOPE/);
  });
});
